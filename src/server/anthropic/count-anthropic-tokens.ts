import type { AnthropicContentBlock, AnthropicRequest } from '../../spec/anthropic-messages.js';
import { countTally, type TokenTally } from '../../spec/token-counter.js';
import { pdfPageCount, PdfInflateBudget } from '../media-tokens.js';

/** What Anthropic's documentation gives for a resized image (about 1.15 megapixels / 750). */
const tokensPerImage = 1_600;
/** A PDF's page: its text and a picture of it, ~2 100–2 500 tokens for a page of dense text on Claude 4.5–5.5. */
const tokensPerPdfPage = 2_300;
/** Binary documents whose pages cannot be counted: a coarse figure per started 100 KB of base64. */
const tokensPerDocumentChunk = 1_600;
const documentChunkBytes = 100_000;
/** The system prompt Anthropic adds when tools are present (its pricing page's figure for recent models, tool_choice auto). */
const toolSystemPromptTokens = 346;
/** Role markers and separators of one turn. */
const tokensPerMessage = 3;

function addBlocks(content: string | AnthropicContentBlock[] | undefined, tally: TokenTally, pdfs: PdfInflateBudget): void {
  if (typeof content === 'string') {
    tally.texts.push(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const block of content) {
    const source = block.source as { type?: string; media_type?: unknown; data?: unknown } | undefined;
    if (typeof block.text === 'string') tally.texts.push(block.text);
    else if (block.type === 'image') tally.tokens += tokensPerImage;
    else if (block.type === 'document' && typeof source?.data === 'string') {
      const pages = source.type === 'base64' && source.media_type === 'application/pdf' ? pdfPageCount(source.data, pdfs) : undefined;
      if (source.type === 'text') tally.texts.push(source.data);
      else if (pages !== undefined) tally.tokens += pages * tokensPerPdfPage;
      else tally.tokens += Math.ceil(source.data.length / documentChunkBytes) * tokensPerDocumentChunk;
    } else if (block.type === 'tool_use') tally.texts.push(`${block.name ?? ''} ${JSON.stringify(block.input ?? {})}`);
    else if (block.type === 'tool_result') addBlocks(block.content, tally, pdfs);
    else if (block.type === 'thinking' && typeof block.thinking === 'string') tally.texts.push(block.thinking);
  }
}

/**
 * An estimate of the input tokens of a Messages request, for `POST /v1/messages/count_tokens`.
 * It is an estimate, not Anthropic's count: Claude's tokenizer is not public, so the text is
 * counted with OpenAI's cl100k_base encoding (Claude's own count differs), images and PDF pages
 * with fixed figures (a binary document whose pages cannot be counted by its size), and tools with their JSON plus Anthropic's documented tool-use
 * system prompt. Good for budgeting and context checks, not for billing; the answer carries
 * `x-relay-token-count: estimate` to say so.
 * @see https://docs.anthropic.com/en/api/messages-count-tokens
 * @see https://docs.anthropic.com/en/docs/build-with-claude/vision#calculate-image-costs
 * @see https://docs.anthropic.com/en/docs/about-claude/pricing#tool-use-pricing
 */
export async function countAnthropicTokens(body: Pick<AnthropicRequest, 'messages' | 'system' | 'tools'>): Promise<number> {
  const tally: TokenTally = { texts: [], tokens: 0 };
  // The request's PDFs are counted within what they may inflate together.
  const pdfs = new PdfInflateBudget();
  addBlocks(body.system, tally, pdfs);
  for (const message of body.messages) {
    tally.tokens += tokensPerMessage;
    addBlocks(message.content, tally, pdfs);
  }
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    tally.tokens += toolSystemPromptTokens;
    for (const tool of body.tools) tally.texts.push(JSON.stringify(tool));
  }
  return countTally(tally);
}
