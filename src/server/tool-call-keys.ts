/**
 * Which tool call of a chat stream each fragment belongs to, as a key that all of one call's
 * fragments share and no two calls do. OpenAI numbers a message's calls by `index` and gives a
 * call's id in its first fragment only; other servers differ, and a translation that took their
 * fragments for OpenAI's would join two calls into one with both arguments run together:
 * - some number every call 0 (Ollama, some SGLang builds) and tell calls apart by their ids only:
 *   a fragment that brings an id other than that of the call at its index starts a new call;
 * - some leave out `index`: an id not seen before then starts a call, and the id of a call already
 *   started (some repeat it on every fragment) or no id continues that call, or the last one.
 */
export class ToolCallKeys {
  private count = 0;
  /** The call each index was last given to, and its id once one came. */
  private readonly byIndex = new Map<number, { key: number; id: string | undefined }>();
  private readonly byId = new Map<string, number>();
  private last: number | undefined;

  /** The key of the call this fragment belongs to (a new one for a fragment that starts a call). */
  key(toolCall: { index?: unknown; id?: unknown }): number {
    // An empty or null id names no call.
    const id = typeof toolCall.id === 'string' && toolCall.id !== '' ? toolCall.id : undefined;
    let key: number;
    if (typeof toolCall.index === 'number') {
      const open = this.byIndex.get(toolCall.index);
      if (open !== undefined && (id === undefined || open.id === undefined || open.id === id)) {
        open.id ??= id;
        key = open.key;
      } else {
        key = this.count++;
        this.byIndex.set(toolCall.index, { key, id });
      }
    } else {
      const known = id === undefined ? undefined : this.byId.get(id);
      if (known !== undefined) key = known;
      else if (id === undefined && this.last !== undefined) key = this.last;
      else key = this.count++;
    }
    if (id !== undefined && !this.byId.has(id)) this.byId.set(id, key);
    this.last = key;
    return key;
  }
}
