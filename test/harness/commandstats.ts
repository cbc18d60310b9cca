/**
 * Redis' own count of the commands it ran (INFO commandstats): how tests show what a path costs, or that
 * an idle one costs nothing. On Redis 7 the commands a script runs are counted too, under their own names,
 * beside the script call itself (fcall, fcall_ro, evalsha). The one place that reads the section.
 */

/** Calls of each command so far, by its name in INFO (`fcall`, `client|unblock`, ...). */
export async function commandCalls(client: { info(section: 'commandstats'): Promise<string> }): Promise<Map<string, number>> {
  const info = await client.info('commandstats');
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, name, calls]) => [name!, Number(calls)]));
}

/** The sum of the calls of the commands `include` keeps (all of them by default). */
export async function callsSoFar(client: { info(section: 'commandstats'): Promise<string> }, include: (command: string) => boolean = () => true): Promise<number> {
  let total = 0;
  for (const [command, calls] of await commandCalls(client)) if (include(command)) total += calls;
  return total;
}

/** Script calls: FCALL and FCALL_RO, or EVALSHA and EVAL where Functions are refused. */
export const SCRIPT_CALLS = (command: string): boolean => ['fcall', 'fcall_ro', 'evalsha', 'eval'].includes(command);
