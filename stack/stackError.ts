// The stack's error: what failed to start or stop, with the end of its log and what to do about it.
import { PulsoError } from '../lib/errors.ts';

export class StackError extends PulsoError {}
