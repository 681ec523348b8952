/**
 * What every configurable check has in config: on/off, observe-only (run and show, never act: for
 * safe rollout) and fail-open (a failure of the check is logged and ignored instead of deferring).
 */
import { z } from 'zod';

export const checkCommon = {
  enabled: z.boolean().default(true).describe('Run this check'),
  observe: z.boolean().default(false).describe('Observe only: findings are logged and shown in headers as observed, never scored or acted on'),
  failOpen: z.boolean().default(false).describe('When the check fails (DNS down, store error), log it and go on instead of deferring with 451'),
};

export interface CheckCommon {
  readonly enabled: boolean;
  readonly observe: boolean;
  readonly failOpen: boolean;
}
