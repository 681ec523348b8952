/** The quarantine's config slice. */
import { z } from 'zod';
import { duration } from '../config/duration.js';

export const quarantineSchema = z
  .object({
    retention: duration('How long quarantined messages are kept before they are deleted').prefault('30d'),
  })
  .strict()
  .prefault({});
