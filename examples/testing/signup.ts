// An app's queue code, as the testing examples beside it test it: a producer typed against Producer (so a
// FakeQueue can stand in for a Queue) and a worker's processor.
import { UnrecoverableError, type Processor } from 'sluice';
import type { Producer } from 'sluice/testing';

export interface SignupJob {
  email: string;
  plan: 'free' | 'pro';
}

/** Called by the app's HTTP handler: one welcome email now, a follow-up in a day for the free plan. */
export async function onSignup(queue: Producer<SignupJob, string>, email: string, plan: SignupJob['plan']): Promise<void> {
  await queue.add('welcome', { email, plan }, { jobId: `welcome-${email}` });
  if (plan === 'free') await queue.add('upgrade-offer', { email, plan }, { delay: 24 * 3600_000 });
}

/** Stands in for the app's email provider. */
const mailer = {
  send: (to: string, template: string): Promise<string> => Promise.resolve(`${template} to ${to}`),
};

/** The worker's processor: sends the email and returns what it sent. A bad address is not retried. */
export const sendEmail: Processor<SignupJob, string> = async (job) => {
  if (!job.data.email.includes('@')) throw new UnrecoverableError(`not an email address: ${job.data.email}`);
  return await mailer.send(job.data.email, job.name);
};
