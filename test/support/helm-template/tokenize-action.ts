import { TemplateError } from './template-error.js';
import type { Token } from './template-syntax.js';

/** Splits the inside of one action into tokens; `where` names the template for errors. */
export function tokenizeAction(action: string, where: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  const identifierAt = (start: number) => /^[A-Za-z_][A-Za-z0-9_]*/.exec(action.slice(start))?.[0] ?? '';
  const chainAt = (start: number) => {
    const names: string[] = [];
    let cursor = start;
    while (action[cursor] === '.') {
      const name = identifierAt(cursor + 1);
      if (!name) break;
      names.push(name);
      cursor += name.length + 1;
    }
    return { names, end: cursor };
  };
  while (index < action.length) {
    const character = action[index]!;
    if (/\s/.test(character)) {
      index++;
    } else if (character === '"') {
      let end = index + 1;
      while (end < action.length && action[end] !== '"') end += action[end] === '\\' ? 2 : 1;
      // Go's interpreted strings use the same escapes as JSON for everything charts write.
      tokens.push({ type: 'string', value: JSON.parse(action.slice(index, end + 1)) as string });
      index = end + 1;
    } else if (character === '`') {
      const end = action.indexOf('`', index + 1);
      tokens.push({ type: 'string', value: action.slice(index + 1, end) });
      index = end + 1;
    } else if (action.startsWith(':=', index)) {
      tokens.push({ type: 'punctuation', value: ':=' });
      index += 2;
    } else if ('()|,='.includes(character)) {
      tokens.push({ type: 'punctuation', value: character as '(' | ')' | '|' | ',' | '=' });
      index++;
      if (character === ')' && action[index] === '.') {
        const chain = chainAt(index);
        tokens.push({ type: 'chain', names: chain.names });
        index = chain.end;
      }
    } else if (character === '$') {
      const name = `$${identifierAt(index + 1)}`;
      const chain = chainAt(index + name.length);
      tokens.push({ type: 'variable', name, names: chain.names });
      index = chain.end;
    } else if (character === '.') {
      const chain = chainAt(index);
      tokens.push({ type: 'field', names: chain.names });
      index = chain.names.length === 0 ? index + 1 : chain.end;
    } else if (/[-+0-9]/.test(character)) {
      const number = /^[-+]?(0x[0-9a-fA-F]+|[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)/.exec(action.slice(index))?.[0];
      if (!number) throw new TemplateError(`${where}: bad number in {{${action}}}`);
      tokens.push({ type: 'number', value: Number(number) });
      index += number.length;
    } else {
      const name = identifierAt(index);
      if (!name) throw new TemplateError(`${where}: unexpected ${JSON.stringify(character)} in {{${action}}}`);
      tokens.push({ type: 'identifier', name });
      index += name.length;
    }
  }
  return tokens;
}
