/**
 * Text the relay puts in a response header of its own (`x-relay-model`, `x-relay-fallback`,
 * `x-relay-provider`, each name in `x-relay-dropped-params`), made safe for one: printable ASCII as
 * it is, anything else (a control character, a letter beyond ASCII, a line break) percent-encoded
 * as UTF-8, and so is `separator` when given (the comma between a list's items, so that a name
 * holding one stays one name). A model the client named and the relay passed through, or a
 * parameter name it dropped, may hold any character: Node refuses a header value with a line break
 * or a character beyond Latin-1 (ERR_INVALID_CHAR), and the answer, already paid for, became a 500.
 */
export function headerText(text: string, separator?: string): string {
  if (/^[\x20-\x7e]*$/.test(text) && (separator === undefined || !text.includes(separator))) return text;
  let encoded = '';
  for (const character of text) encoded += isPrintableAscii(character) && character !== separator ? character : percentEncoded(character);
  return encoded;
}

function isPrintableAscii(character: string): boolean {
  const code = character.charCodeAt(0);
  return character.length === 1 && code >= 0x20 && code <= 0x7e;
}

function percentEncoded(character: string): string {
  let encoded = '';
  for (const byte of Buffer.from(character, 'utf8')) encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return encoded;
}
