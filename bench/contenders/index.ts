import { beeQueue } from './bee-queue.js';
import { bullmq } from './bullmq.js';
import type { Contender, ContenderId } from './contender.js';
import { sluice } from './sluice.js';

export const contenders: Readonly<Record<ContenderId, Contender>> = { sluice, bullmq, 'bee-queue': beeQueue };
