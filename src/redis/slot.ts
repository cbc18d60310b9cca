/**
 * The Redis Cluster slot of a key, computed as Redis does (cluster spec: CRC16-XMODEM of the key, or of
 * its hash tag, the part between the first '{' and the next '}' when that part is not empty, mod 16384).
 * sluice needs it to find the node that serves a queue without asking Redis: the connection a Worker's
 * blocking read runs on, so that CLIENT UNBLOCK goes to that node.
 */
export const SLOTS = 16_384;

/** CRC16-XMODEM (polynomial 0x1021) of every byte value, for one table lookup per byte. */
const TABLE = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  return crc;
});

/**
 * CRC16-XMODEM (initial value 0), a table lookup per byte. `crc` continues the CRC of bytes before these
 * (src/partitions/placement.ts searches suffixes of one fixed start).
 */
export function crc16(bytes: Uint8Array, crc = 0): number {
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  return crc;
}

export function keySlot(key: string): number {
  const bytes = Buffer.from(key);
  const open = bytes.indexOf(0x7b); // '{'
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % SLOTS;
  }
  return crc16(bytes) % SLOTS;
}
