import { channel } from 'node:diagnostics_channel';
import type { EventName, GaugeName, ReasonCode, Service } from './codes.js';

/**
 * The one observability mechanism (STYLE 5, the undici pattern): code publishes on the
 * `node:diagnostics_channel` channel `tollgate`; JSON logs and Prometheus metrics are
 * subscribers at the edge (src/services/observability.ts), the same for every daemon. With no
 * subscriber a publish costs one boolean check, so the refusal path pays nothing for it.
 */
export const OBSERVE_CHANNEL = 'tollgate';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;

export type ObserveMessage =
  | {
      readonly kind: 'count';
      readonly service: Service;
      readonly event: string;
      readonly reason?: ReasonCode;
      readonly n: number;
    }
  | { readonly kind: 'gauge'; readonly service: Service; readonly gauge: string; readonly value: number }
  | {
      readonly kind: 'log';
      readonly service: Service;
      readonly level: LogLevel;
      readonly msg: string;
      readonly fields?: LogFields;
    };

const published = channel(OBSERVE_CHANNEL);

/**
 * true when anyone listens: a hot path builds its log fields (formatted endpoints, details)
 * only then, so that a refusal with nobody watching costs nothing beyond the check.
 */
export function observing(): boolean {
  return published.hasSubscribers;
}

export interface Observer<S extends Service> {
  readonly service: S;
  /** Counts an event; with a reason code the metric carries it as the `reason` label. */
  count(event: EventName<S>, reason?: ReasonCode, n?: number): void;
  /** Counts a refusal of network input (`<service>_rejections_total{reason}`) and logs it at debug. */
  reject(reason: ReasonCode, fields?: LogFields): void;
  /** Sets a gauge to a value (pushed when it changes). */
  gauge(name: GaugeName<S>, value: number): void;
  /** Registers a gauge read at scrape time; returns the function that removes it. */
  sample(name: GaugeName<S>, read: () => number): () => void;
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

type Sampler = { readonly service: Service; readonly gauge: string; readonly read: () => number };
const samplers = new Set<Sampler>();

/** Gauges registered with `sample`, read by the metrics subscriber at each scrape. */
export function sampledGauges(): Iterable<Sampler> {
  return samplers;
}

export function observer<S extends Service>(service: S): Observer<S> {
  const count = (event: EventName<S>, reason?: ReasonCode, n = 1): void => {
    if (!published.hasSubscribers) return;
    published.publish(
      reason === undefined
        ? { kind: 'count', service, event, n }
        : { kind: 'count', service, event, reason, n },
    );
  };
  const log = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (!published.hasSubscribers) return;
    published.publish(
      fields === undefined
        ? { kind: 'log', service, level, msg }
        : { kind: 'log', service, level, msg, fields },
    );
  };
  return {
    service,
    count,
    reject(reason, fields) {
      if (!published.hasSubscribers) return;
      count('rejections' as EventName<S>, reason);
      log('debug', 'rejected', { reason, ...fields });
    },
    gauge(name, value) {
      if (!published.hasSubscribers) return;
      published.publish({ kind: 'gauge', service, gauge: name, value });
    },
    sample(name, read) {
      const entry = { service, gauge: name, read };
      samplers.add(entry);
      return () => {
        samplers.delete(entry);
      };
    },
    log,
  };
}

/** Subscribes to every message; returns the function that unsubscribes (tests and the edge). */
export function subscribe(onMessage: (message: ObserveMessage) => void): () => void {
  const listener = (message: unknown) => onMessage(message as ObserveMessage);
  published.subscribe(listener);
  return () => {
    published.unsubscribe(listener);
  };
}
