/**
 * Config slice `checks.structure`: the mime-structure check.
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { checkCommon } from '../../checks/options.js';

export const structureSchema = z.object({ ...checkCommon }).strict().prefault({}).describe('mime-structure: header cardinality, Date, MIME structure problems, empty body');
export type StructureConfig = z.infer<typeof structureSchema>;
