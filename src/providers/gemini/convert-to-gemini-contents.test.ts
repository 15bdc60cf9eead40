import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import { convertToGeminiContents, placeholderThoughtSignature, type ContentsConversionOptions } from './convert-to-gemini-contents.js';

function options(overrides: Partial<ContentsConversionOptions> = {}): ContentsConversionOptions {
  return { provider: 'gemini', unsupported: [], needsThoughtSignatures: false, ...overrides };
}

describe('convertToGeminiContents', () => {
  it('maps roles, collects system and developer messages into systemInstruction, and merges same-role turns', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'Hi' },
      { role: 'user', content: [{ type: 'text', text: 'there' }] },
      { role: 'assistant', content: 'Hello.' },
      { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
      { role: 'user', content: 'Thanks' },
    ];
    const result = convertToGeminiContents(messages, options());
    expect(result.systemInstruction).toEqual({ parts: [{ text: 'Be terse.' }, { text: 'Answer in French.' }] });
    expect(result.contents).toEqual([
      { role: 'user', parts: [{ text: 'Hi' }, { text: 'there' }] },
      { role: 'model', parts: [{ text: 'Hello.' }] },
      { role: 'user', parts: [{ text: 'Thanks' }] },
    ]);
  });

  it('turns a conversation of system messages only into a user turn, since Gemini needs contents', () => {
    const result = convertToGeminiContents([{ role: 'system', content: 'Say hi.' }], options());
    expect(result).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Say hi.' }] }] });
  });

  it('converts a tool round trip: calls become functionCall parts, results functionResponse parts named after the call', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Weather and time in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
          { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_a', content: '{"temperature":21,"sky":"clear"}' },
      { role: 'tool', tool_call_id: 'call_b', content: '14:05' },
      { role: 'tool', tool_call_id: 'call_b', content: '[1,2]' },
    ];
    const result = convertToGeminiContents(messages, options());
    expect(result.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather and time in Paris?' }] },
      {
        role: 'model',
        parts: [{ functionCall: { name: 'get_weather', args: { location: 'Paris' } } }, { functionCall: { name: 'get_time', args: {} } }],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { temperature: 21, sky: 'clear' } } },
          { functionResponse: { name: 'get_time', response: { content: '14:05' } } },
          { functionResponse: { name: 'get_time', response: { content: [1, 2] } } },
        ],
      },
    ]);
  });

  it('refuses a tool message whose call is not in the conversation, naming the field', () => {
    const error = (() => {
      try {
        convertToGeminiContents([{ role: 'user', content: 'x' }, { role: 'tool', tool_call_id: 'call_missing', content: 'y' }], options());
      } catch (caught) {
        return caught;
      }
      return undefined;
    })() as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'invalid_request', status: 400, upstreamParam: 'messages[1].tool_call_id' });
    expect(error.upstreamMessage).toMatch(/call_missing/);
  });

  it('keeps arguments that are not a JSON object instead of losing them', () => {
    const result = convertToGeminiContents(
      [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: 'not json' } }] }],
      options(),
    );
    expect(result.contents[0]?.parts[0]).toEqual({ functionCall: { name: 'f', args: { arguments: 'not json' } } });
  });

  it('sends images as inlineData (data URLs) or fileData (http URLs), and reports what it cannot send', () => {
    const unsupported: string[] = [];
    const result = convertToGeminiContents(
      [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.JPG?size=large' } },
            { type: 'image_url', image_url: { url: 'https://example.com/render' } },
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
            { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=' } },
            { type: 'file', file: { file_id: 'file-abc' } },
            { type: 'image_url', image_url: { url: 'ftp://example.com/x.png' } },
          ],
        },
      ],
      options({ unsupported }),
    );
    expect(result.contents[0]?.parts).toEqual([
      { text: 'What is in these?' },
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
      { fileData: { fileUri: 'https://example.com/cat.JPG?size=large', mimeType: 'image/jpeg' } },
      { fileData: { fileUri: 'https://example.com/render' } },
      { inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } },
      { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
    ]);
    expect(unsupported).toEqual(['messages[].content[].file.file_id', 'messages[].content[].image_url']);
  });

  it('puts back the thought signature the relay remembered, and the documented placeholder on Gemini 3 when it has none', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'go' },
      {
        role: 'assistant',
        tool_calls: [
          { id: 'known', type: 'function', function: { name: 'a', arguments: '{}' } },
          { id: 'parallel', type: 'function', function: { name: 'b', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'known', content: 'ok' },
      { role: 'tool', tool_call_id: 'parallel', content: 'ok' },
      { role: 'assistant', tool_calls: [{ id: 'forgotten', type: 'function', function: { name: 'a', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'forgotten', content: 'ok' },
    ];
    const recallSignature = (id: string) => (id === 'known' ? 'c2lnbmF0dXJl' : undefined);
    const gemini3 = convertToGeminiContents(messages, options({ recallSignature, needsThoughtSignatures: true }));
    expect(gemini3.contents[1]?.parts.map((part) => part.thoughtSignature)).toEqual(['c2lnbmF0dXJl', undefined]);
    expect(gemini3.contents[3]?.parts[0]?.thoughtSignature).toBe(placeholderThoughtSignature);
    const gemini25 = convertToGeminiContents(messages, options({ recallSignature, needsThoughtSignatures: false }));
    expect(gemini25.contents[3]?.parts[0]?.thoughtSignature).toBeUndefined();
  });

  it('percent-decodes a data URL that is not base64 as browsers do: a % without two hex digits is taken as it is, and bytes need not be UTF-8', () => {
    const inline = (url: string) => {
      const part = convertToGeminiContents([{ role: 'user', content: [{ type: 'file', file: { file_data: url } }] }], options()).contents[0]?.parts[0];
      return Buffer.from(part?.inlineData?.data ?? '', 'base64');
    };
    expect(inline('data:text/plain,We are 100% sure').toString('utf8')).toBe('We are 100% sure');
    expect(inline('data:text/plain,caf%C3%A9 au lait, 50%off %4').toString('utf8')).toBe('café au lait, 50%off %4');
    expect(inline('data:text/plain;charset=utf-8,naïve').toString('utf8')).toBe('naïve');
    expect([...inline('data:application/octet-stream,%FF%00%fe')]).toEqual([0xff, 0x00, 0xfe]);
  });

  it('gives a legacy function_call the placeholder thought signature on Gemini 3: it has no id to recall one by', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { role: 'function', name: 'get_weather', content: '{"celsius":21}' },
    ];
    const gemini3 = convertToGeminiContents(messages, options({ needsThoughtSignatures: true }));
    expect(gemini3.contents[1]?.parts).toEqual([{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: placeholderThoughtSignature }]);
    expect(convertToGeminiContents(messages, options()).contents[1]?.parts).toEqual([{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }]);
  });

  it('refuses a role that is not a chat role', () => {
    expect(() => convertToGeminiContents([{ role: 'robot', content: 'x' }], options())).toThrow(/"robot" is not a chat role/);
  });
});
