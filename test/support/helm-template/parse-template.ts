import { parsePipeline } from './parse-pipeline.js';
import { splitTemplate } from './split-template.js';
import { TemplateError } from './template-error.js';
import type { Token, TemplateNode } from './template-syntax.js';
import { tokenizeAction } from './tokenize-action.js';

/**
 * Parses a template file into its top-level nodes. Its `{{define}}`s go into `defines`, which the
 * caller shares between files, as Helm parses every file of a chart into one template set.
 */
export function parseTemplate(source: string, name: string, defines: Map<string, TemplateNode[]>): TemplateNode[] {
  const segments = splitTemplate(source, name);
  let index = 0;
  type Stop = { keyword: 'end' } | { keyword: 'else'; tokens: Token[] };
  const parseList = (closable: boolean): { nodes: TemplateNode[]; stop?: Stop } => {
    const nodes: TemplateNode[] = [];
    while (index < segments.length) {
      const segment = segments[index++]!;
      if (segment.text !== undefined) {
        if (segment.text !== '') nodes.push({ kind: 'text', text: segment.text });
        continue;
      }
      if (segment.action!.trim() === '') continue; // a comment
      const tokens = tokenizeAction(segment.action!, name);
      const first = tokens[0];
      const keyword = first?.type === 'identifier' ? first.name : undefined;
      if (keyword === 'end' || keyword === 'else') {
        if (!closable) throw new TemplateError(`${name}: unexpected {{${keyword}}}`);
        return { nodes, stop: keyword === 'end' ? { keyword } : { keyword, tokens: tokens.slice(1) } };
      }
      if (keyword === 'if' || keyword === 'with' || keyword === 'range') nodes.push(parseControl(keyword, tokens.slice(1)));
      else if (keyword === 'define') {
        const defined = tokens[1];
        if (defined?.type !== 'string') throw new TemplateError(`${name}: define needs a name`);
        const body = parseList(true);
        if (body.stop?.keyword !== 'end') throw new TemplateError(`${name}: define ${defined.value} is not closed`);
        defines.set(defined.value, body.nodes);
      } else if (keyword === 'template') {
        const called = tokens[1];
        if (called?.type !== 'string') throw new TemplateError(`${name}: template needs a name`);
        nodes.push({ kind: 'template', name: called.value, pipeline: tokens.length > 2 ? parsePipeline(tokens.slice(2), name) : undefined });
      } else if (keyword === 'block' || keyword === 'break' || keyword === 'continue') {
        throw new TemplateError(`${name}: {{${keyword}}} is not supported by this renderer`);
      } else nodes.push({ kind: 'action', pipeline: parsePipeline(tokens, name) });
    }
    if (closable) throw new TemplateError(`${name}: unexpected end of template (missing {{end}})`);
    return { nodes };
  };
  const parseControl = (kind: 'if' | 'with' | 'range', tokens: Token[]): TemplateNode => {
    const pipeline = parsePipeline(tokens, name);
    const body = parseList(true);
    let otherwise: TemplateNode[] = [];
    if (body.stop?.keyword === 'else') {
      const rest = body.stop.tokens;
      const chained = rest[0]?.type === 'identifier' && (rest[0].name === 'if' || rest[0].name === 'with') ? rest[0].name : undefined;
      if (chained) {
        // {{else if …}} is an {{if}} inside the else branch, closed by the same {{end}}.
        otherwise = [parseControl(chained as 'if' | 'with', rest.slice(1))];
      } else {
        const elseBody = parseList(true);
        if (elseBody.stop?.keyword !== 'end') throw new TemplateError(`${name}: {{else}} after {{else}}`);
        otherwise = elseBody.nodes;
      }
    } else if (body.stop?.keyword !== 'end') throw new TemplateError(`${name}: missing {{end}}`);
    return { kind, pipeline, body: body.nodes, otherwise };
  };
  return parseList(false).nodes;
}
