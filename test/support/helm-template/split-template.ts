import { TemplateError } from './template-error.js';

/** Text, or an action's inside ('' for a comment). */
export interface Segment {
  text?: string;
  action?: string;
}

/**
 * Splits a template into text and actions, applying the trim markers: `{{- ` removes the white
 * space before the action and ` -}}` the white space after it. As in Go, the marker needs a space
 * next to it (`{{-3}}` is the number -3), and a comment must close right after its `*\/`.
 */
export function splitTemplate(source: string, name: string): Segment[] {
  const segments: Segment[] = [];
  let position = 0;
  const trimFollowing = () => {
    const rest = source.slice(position);
    position += rest.length - rest.replace(/^[ \t\r\n]+/, '').length;
  };
  while (position < source.length) {
    const open = source.indexOf('{{', position);
    if (open < 0) {
      segments.push({ text: source.slice(position) });
      break;
    }
    segments.push({ text: source.slice(position, open) });
    let cursor = open + 2;
    const trimLeft = /^-[ \t\r\n]/.test(source.slice(cursor, cursor + 2));
    if (trimLeft) {
      cursor += 2;
      const previous = segments[segments.length - 1]!;
      previous.text = previous.text!.replace(/[ \t\r\n]+$/, '');
    }
    if (source.startsWith('/*', cursor)) {
      // A comment: {{/* … */}} or {{- /* … */ -}}, closed right after the */.
      const end = source.indexOf('*/', cursor + 2);
      if (end < 0) throw new TemplateError(`${name}: unclosed comment`);
      let after = end + 2;
      const trimRight = /^[ \t\r\n]-\}\}/.test(source.slice(after, after + 4));
      if (trimRight) after += 2;
      if (!source.startsWith('}}', after)) throw new TemplateError(`${name}: comment ends before closing delimiter`);
      segments.push({ action: '' });
      position = after + 2;
      if (trimRight) trimFollowing();
      continue;
    }
    // The action ends at the first `}}` outside a quoted string.
    let close = cursor;
    let quote: string | undefined;
    while (close < source.length) {
      const character = source[close]!;
      if (quote) {
        if (character === '\\' && quote !== '`') close++;
        else if (character === quote) quote = undefined;
      } else if (character === '"' || character === '`' || character === "'") quote = character;
      else if (source.startsWith('}}', close)) break;
      close++;
    }
    if (close >= source.length) throw new TemplateError(`${name}: unclosed action`);
    let inner = source.slice(cursor, close);
    const trimRight = /[ \t\r\n]-$/.test(inner);
    if (trimRight) inner = inner.slice(0, -2);
    if (inner.trim() === '') throw new TemplateError(`${name}: missing value for command`);
    segments.push({ action: inner });
    position = close + 2;
    if (trimRight) trimFollowing();
  }
  return segments;
}
