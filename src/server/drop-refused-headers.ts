import { validateHeaderValue } from 'node:http';
import type { FastifyReply } from 'fastify';

/**
 * Removes from a reply the headers Node would refuse to send (a value with a line break or a
 * character beyond Latin-1: ERR_INVALID_CHAR), so that the error answer written instead of an
 * answer whose headers could not be sent goes out in the relay's own shape. Every header the relay
 * fills with text it did not write is made safe before it is set (`headerText`); this is what keeps
 * a header it missed from turning the answer into Fastify's own 500, or a stream into no answer.
 */
export function dropRefusedHeaders(reply: FastifyReply): void {
  const headers = reply.getHeaders();
  for (const name of Object.keys(headers)) {
    try {
      // Node reads a number or a list of values as their text, as writeHead does.
      validateHeaderValue(name, headers[name] as string);
    } catch {
      reply.removeHeader(name);
    }
  }
}
