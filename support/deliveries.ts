/** Builds valid Revox deliveries for tests: an order resolved over several attempts, one delivery per attempt. */

export interface AttemptSpec {
  id: string;
  status?: string;
  result?: string | null;
  turns?: number;
  endedAt?: string | null;
}

const BASE_TIME = Date.parse('2026-11-20T09:00:00Z');

export function attempt(spec: AttemptSpec, index: number, phoneNumber = '+33612345678') {
  const started = BASE_TIME + index * 3_600_000;
  const status = spec.status ?? 'completed';
  return {
    id: spec.id,
    phone_number: phoneNumber,
    status,
    result: spec.result === undefined ? 'voicemail' : spec.result,
    recording_url: `https://recordings.example.com/${spec.id}.mp3`,
    started_at: new Date(started).toISOString(),
    answered_at: new Date(started + 5_000).toISOString(),
    ended_at: spec.endedAt === undefined ? new Date(started + 65_000).toISOString() : spec.endedAt,
    transcript: Array.from({ length: spec.turns ?? 2 }, (_, turn) => ({
      role: turn % 2 === 0 ? 'assistant' : 'user',
      content: `${spec.id} turn ${turn}`,
    })),
    structured_output: { attempt: index },
  };
}

/**
 * The delivery Revox sends when attempt `upTo` (0-based) of `attempts` finishes: the order carries attempts
 * 0..upTo, most recent first, and is completed only with the last one.
 */
export function orderDelivery(orderId: string, attempts: AttemptSpec[], upTo: number, phoneNumber = '+33612345678') {
  const made = attempts
    .slice(0, upTo + 1)
    .map((spec, index) => attempt(spec, index, phoneNumber))
    .reverse();
  const isLast = upTo === attempts.length - 1;
  return {
    call: {
      id: orderId,
      from_phone_number: '+33187654321',
      to_phone_number: phoneNumber,
      direction: 'outbound',
      is_completed: isLast,
      is_cancelled: false,
      calls_count: upTo + 1,
      next_call_at: isLast ? null : new Date(BASE_TIME + (upTo + 1) * 3_600_000).toISOString(),
      created_at: new Date(BASE_TIME - 1_000).toISOString(),
      status: isLast ? 'completed' : 'scheduled',
      last_call_attempt: made[0],
      call_attempts: made,
      call_retry_config: {
        calling_windows: [{ start: '10:00', end: '18:00', retry_delay_seconds: 3600 }],
        max_retry_attempts: 3,
        timezone: 'Europe/Paris',
      },
      llm_model: { type: 'dedicated-instance', name: 'gpt-4.1' },
      metadata: { campaign: 'test' },
    },
    call_attempt: made[0],
  };
}

/** Every delivery of an order, in the order Revox would send them. */
export function orderDeliveries(orderId: string, attempts: AttemptSpec[], phoneNumber?: string) {
  return attempts.map((_, upTo) => orderDelivery(orderId, attempts, upTo, phoneNumber));
}

/**
 * Makes valid deliveries, one new order each (ids from `prefix` and a counter), changed by `edit`: for tests that
 * try one variation of a field at a time.
 */
export function deliveryMaker(prefix: string) {
  let sequence = 0;
  return (edit: (delivery: any) => void = () => {}) => {
    sequence += 1;
    const made: any = orderDelivery(`call_${prefix}_${sequence}`, [{ id: `att_${prefix}_${sequence}` }], 0);
    edit(made);
    return made;
  };
}
