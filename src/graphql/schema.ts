/** The schema frontends query. Each type lives in its own file in ./types; importing them registers them. */
import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';
import './types/scalars.ts';
import './types/callOrder.ts';
import './types/callAttempt.ts';
import './types/outputCondition.ts';
import './types/transcriptMessage.ts';
import './types/transcriptHighlight.ts';
import './types/callStats.ts';
import './types/callCompleted.ts';
import './types/apiKey.ts';
import './types/erasure.ts';
import './types/syncStatus.ts';

export const schema = lexicographicSortSchema(builder.toSchema());
