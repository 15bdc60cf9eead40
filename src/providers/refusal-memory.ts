/**
 * Parameters upstream models refused lately, so that the requests that follow go without them at
 * once instead of each paying a refused call first. Kept per provider (weakly: a relay's providers
 * go with it, and two relays in one process share nothing) and model; each refused field with the
 * longest array of it the model takes (0: the field not at all). A refusal is forgotten after 10
 * minutes, since a model's rules change with its versions.
 */
const rememberMs = 10 * 60_000;
/** Models remembered per provider at most (the oldest are forgotten first). */
const modelsPerProvider = 256;

const refusals = new WeakMap<object, Map<string, { fields: Map<string, number>; until: number }>>();

/** Remembers that `model` of `provider` refused `field` (or an array of it longer than `longest`). */
export function rememberRefusal(provider: object, model: string, field: string, longest: number, now = Date.now()): void {
  let models = refusals.get(provider);
  if (models === undefined) refusals.set(provider, (models = new Map()));
  let entry = models.get(model);
  if (entry === undefined || entry.until <= now) {
    models.delete(model);
    if (models.size >= modelsPerProvider) models.delete(models.keys().next().value!);
    models.set(model, (entry = { fields: new Map(), until: now + rememberMs }));
  }
  entry.fields.set(field, longest);
}

/** What `model` of `provider` refused in the last 10 minutes: field → the longest array taken (0: none). */
export function rememberedRefusals(provider: object, model: string, now = Date.now()): ReadonlyMap<string, number> | undefined {
  const models = refusals.get(provider);
  const entry = models?.get(model);
  if (entry === undefined) return undefined;
  if (entry.until > now) return entry.fields;
  models!.delete(model);
  return undefined;
}
