import type { FastifyInstance } from 'fastify';
import type { RelayServices } from '../relay-services.js';

/** Placeholder until the Anthropic-compatible front door lands. */
export function registerAnthropicMessages(_app: FastifyInstance, _services: RelayServices): void {}
