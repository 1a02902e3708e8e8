import { builder } from '../builder.ts';
import { revoxEnumFields, TranscriptRole } from './enums.ts';

export const TranscriptMessage = builder.prismaNode('TranscriptMessage', {
  id: { field: 'id' },
  // No field leads back to the attempt: with one, a few nested transcripts multiplied into a huge response.
  description: 'One turn of a transcript.',
  // Also reachable through node(id:), so the type itself needs the scope, not only CallAttempt.transcript.
  authScopes: { 'transcripts:read': true },
  runScopesOnType: true,
  fields: (t) => ({
    position: t.exposeInt('position', { description: 'Order in the conversation, from 0.' }),
    ...revoxEnumFields(t, 'role', TranscriptRole),
    content: t.exposeString('content'),
    toolName: t.exposeString('toolName', { nullable: true }),
    toolArguments: t.expose('toolArguments', {
      type: 'JSON',
      nullable: true,
      description: 'An object or a JSON string, as Revox sent it.',
    }),
    toolIsError: t.exposeBoolean('toolIsError', { nullable: true }),
  }),
});
