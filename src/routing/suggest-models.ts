/** Edit distance between two short strings (Levenshtein), for "did you mean" suggestions. */
function distance(left: string, right: string): number {
  const previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let i = 1; i <= left.length; i++) {
    let diagonal = previous[0] ?? 0;
    previous[0] = i;
    for (let j = 1; j <= right.length; j++) {
      const above = previous[j] ?? 0;
      const cost = left[i - 1] === right[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, (previous[j - 1] ?? 0) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[right.length] ?? 0;
}

/** The served names closest to an unknown one: by edit distance, a shared prefix counting as close. */
export function suggestModels(unknown: string, served: readonly string[], limit = 3): string[] {
  const wanted = unknown.toLowerCase();
  return served
    .map((name) => {
      const lower = name.toLowerCase();
      let score = distance(wanted, lower);
      if (lower.startsWith(wanted) || wanted.startsWith(lower)) score = Math.min(score, Math.abs(lower.length - wanted.length) / 2);
      return { name, score };
    })
    .filter((entry) => entry.score <= Math.max(3, wanted.length / 2))
    .sort((left, right) => left.score - right.score || left.name.localeCompare(right.name))
    .slice(0, limit)
    .map((entry) => entry.name);
}
