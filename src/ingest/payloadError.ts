/** A delivery that is JSON but not usable; `path` names the field, e.g. `call.call_attempts[0].started_at`. */
export class PayloadError extends Error {
  override name = 'PayloadError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}
