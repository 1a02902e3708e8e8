/**
 * The model behind a call: a union on Revox's `type`. Secrets are removed before anything is stored; `raw` and
 * `apiUrl` remove them again when served, for rows stored under older rules that the scrub at start has not reached.
 */
import type { Json } from '../../ingest/json.ts';
import { withoutSecretNames } from '../../ingest/thirdPartySecrets.ts';
import { builder } from '../builder.ts';

type Stored = Record<string, unknown>;
const text = (stored: Stored, key: string) => (typeof stored[key] === 'string' ? (stored[key] as string) : null);

const DedicatedInstanceLlm = builder.objectRef<Stored>('DedicatedInstanceLlm').implement({
  fields: (t) => ({ name: t.string({ nullable: true, resolve: (m) => text(m, 'name') }) }),
});

const OpenRouterLlm = builder.objectRef<Stored>('OpenRouterLlm').implement({
  fields: (t) => ({
    openrouterModelId: t.string({ nullable: true, resolve: (m) => text(m, 'openrouter_model_id') }),
    openrouterProvider: t.string({ nullable: true, resolve: (m) => text(m, 'openrouter_provider') }),
  }),
});

const CustomLlm = builder.objectRef<Stored>('CustomLlm').implement({
  description: 'A model served by the customer. Its API key is removed on receipt and is never available.',
  fields: (t) => ({
    apiUrl: t.string({ nullable: true, resolve: (m) => text(withoutSecretNames(m as Json) as Stored, 'api_url') }),
    modelName: t.string({ nullable: true, resolve: (m) => text(m, 'model_name') }),
  }),
});

const RealtimeLlm = builder.objectRef<Stored>('RealtimeLlm').implement({
  fields: (t) => ({
    provider: t.string({ nullable: true, resolve: (m) => text(m, 'provider') }),
    realtimeModelId: t.string({ nullable: true, resolve: (m) => text(m, 'realtime_model_id') }),
    realtimeVoiceId: t.string({ nullable: true, resolve: (m) => text(m, 'realtime_voice_id') }),
  }),
});

const OtherLlm = builder.objectRef<Stored>('OtherLlm').implement({
  description: 'A kind of model this version of Callboard does not know yet.',
  fields: () => ({}),
});

const VARIANTS = {
  'dedicated-instance': DedicatedInstanceLlm,
  openrouter: OpenRouterLlm,
  custom: CustomLlm,
  realtime: RealtimeLlm,
} as const;

export const LlmModel = builder.unionType('LlmModel', {
  types: [DedicatedInstanceLlm, OpenRouterLlm, CustomLlm, RealtimeLlm, OtherLlm],
  resolveType: (model) => {
    const type = text(model, 'type');
    // Own properties only: a stored `type` of "constructor" or "toString" is another unknown type, not Object's.
    return type !== null && Object.hasOwn(VARIANTS, type) ? VARIANTS[type as keyof typeof VARIANTS] : OtherLlm;
  },
});

// Every variant says which type Revox sent and carries the whole object (without any secret) for the curious.
for (const variant of [DedicatedInstanceLlm, OpenRouterLlm, CustomLlm, RealtimeLlm, OtherLlm]) {
  builder.objectFields(variant, (t) => ({
    type: t.string({ description: "Revox's `type`, as sent.", resolve: (m) => text(m, 'type') ?? '' }),
    raw: t.field({ type: 'JSON', resolve: (m) => withoutSecretNames(m as Json) }),
  }));
}
