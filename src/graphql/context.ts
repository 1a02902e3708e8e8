/** What the server passes in to Yoga for each GraphQL operation, beside the request: Yoga builds the Context from it. */
import type { IncomingMessage } from 'node:http';
import type { CallEventSource } from '../events/eventBus.ts';
import type { Transport } from './builder.ts';

/** What the WebSocket server passes in for each operation; HTTP requests carry none of it. */
export interface GraphQLServerContext {
  /** The Node request (for WebSocket, the upgrade request). */
  req?: IncomingMessage;
  requestId?: string;
  transport?: Transport;
  /**
   * Set when a subscription hub runs the operation once for all its members: the hub's own stream of events. The hub
   * counts the events it writes to each member itself.
   */
  subscriptionHub?: CallEventSource;
}
