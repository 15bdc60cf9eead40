import { TemplateError } from './template-error.js';
import type { Operand, Pipeline, Token } from './template-syntax.js';

/**
 * Parses an action's tokens into a pipeline: optional `$a, $b :=` (or `$a =`) declarations, then
 * commands separated by `|`, with parenthesised pipelines (and field chains on them) as operands.
 */
export function parsePipeline(tokens: Token[], where: string): Pipeline {
  let cursor = 0;
  const declarations: string[] = [];
  let assign = false;
  const declarationEnd = tokens.findIndex((token) => token.type === 'punctuation' && (token.value === ':=' || token.value === '='));
  if (declarationEnd > 0 && tokens.slice(0, declarationEnd).every((token) => token.type === 'variable' || (token.type === 'punctuation' && token.value === ','))) {
    for (const token of tokens.slice(0, declarationEnd)) if (token.type === 'variable') declarations.push(token.name);
    assign = (tokens[declarationEnd] as { value: string }).value === '=';
    cursor = declarationEnd + 1;
  }
  const parseCommands = (): Operand[][] => {
    const commands: Operand[][] = [[]];
    while (cursor < tokens.length) {
      const token = tokens[cursor]!;
      if (token.type === 'punctuation' && token.value === ')') break;
      cursor++;
      const command = commands[commands.length - 1]!;
      if (token.type === 'punctuation' && token.value === '|') {
        commands.push([]);
      } else if (token.type === 'punctuation' && token.value === '(') {
        const inner: Pipeline = { declarations: [], assign: false, commands: parseCommands() };
        if ((tokens[cursor] as { value?: string } | undefined)?.value !== ')') throw new TemplateError(`${where}: unclosed (`);
        cursor++;
        const chain = tokens[cursor];
        const names = chain?.type === 'chain' ? chain.names : [];
        if (chain?.type === 'chain') cursor++;
        command.push({ kind: 'pipeline', pipeline: inner, names });
      } else if (token.type === 'field') command.push({ kind: 'field', names: token.names });
      else if (token.type === 'variable') command.push({ kind: 'variable', name: token.name, names: token.names });
      else if (token.type === 'string' || token.type === 'number') command.push({ kind: 'literal', value: token.value });
      else if (token.type === 'identifier') {
        if (token.name === 'true' || token.name === 'false') command.push({ kind: 'literal', value: token.name === 'true' });
        else if (token.name === 'nil') command.push({ kind: 'literal', value: null });
        else command.push({ kind: 'function', name: token.name });
      } else throw new TemplateError(`${where}: unexpected ${JSON.stringify(token)}`);
    }
    if (commands.some((command) => command.length === 0)) throw new TemplateError(`${where}: empty command in pipeline`);
    return commands;
  };
  const commands = parseCommands();
  if (cursor !== tokens.length) throw new TemplateError(`${where}: unexpected )`);
  return { declarations, assign, commands };
}
