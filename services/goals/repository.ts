import { randomBytes, randomUUID } from 'node:crypto';
import type { Store } from '../shared/store/store.ts';
import { GoalsError } from './errors.ts';
import { KeyedLock } from './lock.ts';
import { type EntityKind, type EntityTypes, ID_PREFIX } from './model.ts';

/**
 * Versioned entities over the append-only `goals_changes` table (sql/0050_goals.sql).
 * Every accepted write is one appended row with the entity before and after, the actor,
 * the time and the action, so the store and its audit trail cannot disagree: they are
 * the same insert. Writes to one entity are serialised by a per-entity lock, and an
 * update names the version it read: a stale one is refused with 409 STALE_VERSION.
 */

export interface Stored<T> {
  version: number;
  updatedAt: string;
  updatedBy: string;
  value: T;
}

export interface ChangeMeta {
  actorId: string;
  /** What happened, e.g. `department_goal.submit`. */
  action: string;
  comment?: string | undefined;
}

export interface ChangeRecord {
  changeId: string;
  kind: EntityKind;
  id: string;
  version: number;
  action: string;
  actorId: string;
  at: string;
  comment: string | null;
  before: unknown;
  after: unknown;
  /** Top-level fields whose value differs between before and after. */
  changedFields: string[];
}

interface ChangeRow {
  kind: string;
  id: string;
  version: number | string;
  change_id: string;
  action: string;
  actor_id: string;
  at_ms: number | string;
  comment: string;
  before: string;
  after: string;
}

const TABLE = 'goals_changes';
const COLUMNS = `kind, id, version, change_id, action, actor_id, toUnixTimestamp64Milli(at) AS at_ms, comment, before, after`;
// Two rows with one (kind, id, version) only come from two writer processes racing:
// every reader then takes the same one, the earliest written.
const LATEST_FIRST = 'ORDER BY version DESC, at ASC, change_id ASC';

export const LABEL: Record<EntityKind, string> = {
  department: 'Department',
  person: 'Person',
  cycle: 'Cycle',
  strategy_session: 'Strategy session',
  org_goal: 'Organisation goal',
  department_goal: 'Department goal',
  action: 'Action',
  commitment_session: 'Commitment session',
  token: 'Token',
};

function changedFields(before: unknown, after: unknown): string[] {
  if (typeof after !== 'object' || after === null) return [];
  const b = (typeof before === 'object' && before !== null ? before : {}) as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  const keys = new Set([...Object.keys(b), ...Object.keys(a)]);
  return [...keys].filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k])).sort();
}

/** Fields the audit trail never shows: a token's hash (its lookup key; useless to log in with, but not for reading). */
const HIDDEN_IN_AUDIT = new Set(['sha256']);

function redacted(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !HIDDEN_IN_AUDIT.has(k)));
}

function toRecord(row: ChangeRow): ChangeRecord {
  const before = redacted(row.before === '' ? null : (JSON.parse(row.before) as unknown));
  const after = redacted(JSON.parse(row.after) as unknown);
  return {
    changeId: row.change_id,
    kind: row.kind as EntityKind,
    id: row.id,
    version: Number(row.version),
    action: row.action,
    actorId: row.actor_id,
    at: new Date(Number(row.at_ms)).toISOString(),
    comment: row.comment === '' ? null : row.comment,
    before,
    after,
    changedFields: changedFields(before, after),
  };
}

function toStored<T>(row: ChangeRow): Stored<T> {
  return {
    version: Number(row.version),
    updatedAt: new Date(Number(row.at_ms)).toISOString(),
    updatedBy: row.actor_id,
    value: JSON.parse(row.after) as T,
  };
}

export class EntityRepository {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly store: Store,
    private readonly clock: () => number,
  ) {}

  newId(kind: EntityKind): string {
    return `${ID_PREFIX[kind]}-${randomBytes(5).toString('hex')}`;
  }

  async get<K extends EntityKind>(kind: K, id: string): Promise<Stored<EntityTypes[K]> | undefined> {
    const rows = await this.store.query<ChangeRow>(
      `SELECT ${COLUMNS} FROM ${this.store.table(TABLE)} WHERE kind = {kind:String} AND id = {id:String} ${LATEST_FIRST} LIMIT 1`,
      { kind, id },
    );
    return rows[0] ? toStored<EntityTypes[K]>(rows[0]) : undefined;
  }

  async require<K extends EntityKind>(kind: K, id: string): Promise<Stored<EntityTypes[K]>> {
    const found = await this.get(kind, id);
    if (!found) throw new GoalsError('NOT_FOUND', `${LABEL[kind]} "${id}" does not exist.`);
    return found;
  }

  /** Every entity of a kind, current versions. The planning model is small (thousands, not millions). */
  async list<K extends EntityKind>(kind: K): Promise<Array<Stored<EntityTypes[K]>>> {
    const rows = await this.store.query<ChangeRow>(
      `SELECT ${COLUMNS} FROM ${this.store.table(TABLE)} WHERE kind = {kind:String}
       ORDER BY id, version DESC, at ASC, change_id ASC LIMIT 1 BY id`,
      { kind },
    );
    return rows.map((r) => toStored<EntityTypes[K]>(r));
  }

  async findByLookup<K extends EntityKind>(kind: K, key: string): Promise<Stored<EntityTypes[K]> | undefined> {
    const rows = await this.store.query<ChangeRow>(
      `SELECT ${COLUMNS} FROM ${this.store.table(TABLE)} WHERE kind = {kind:String} AND lookup_key = {key:String} ${LATEST_FIRST} LIMIT 1`,
      { kind, key },
    );
    return rows[0] ? toStored<EntityTypes[K]>(rows[0]) : undefined;
  }

  /** Creates version 1; 409 ALREADY_EXISTS when the id is taken. */
  async create<K extends EntityKind>(
    kind: K,
    value: EntityTypes[K],
    meta: ChangeMeta,
    lookupKey = '',
  ): Promise<Stored<EntityTypes[K]>> {
    return this.lock.run(`${kind}:${value.id}`, async () => {
      if (await this.get(kind, value.id)) {
        throw new GoalsError('ALREADY_EXISTS', `${LABEL[kind]} "${value.id}" already exists; choose another id.`);
      }
      return this.append(kind, value.id, 1, null, value, meta, lookupKey);
    });
  }

  /**
   * Appends the next version. `expectedVersion` (when given) must be the current one,
   * else 409 STALE_VERSION and nothing is written. `change` may throw (a GoalsError for a
   * refused transition); it runs under the entity's lock, after the version check.
   */
  async update<K extends EntityKind>(
    kind: K,
    id: string,
    expectedVersion: number | undefined,
    meta: ChangeMeta,
    change: (current: EntityTypes[K], stored: Stored<EntityTypes[K]>) => EntityTypes[K] | Promise<EntityTypes[K]>,
    lookupKey = '',
  ): Promise<Stored<EntityTypes[K]>> {
    return this.lock.run(`${kind}:${id}`, async () => {
      const current = await this.require(kind, id);
      if (expectedVersion !== undefined && expectedVersion !== current.version) {
        throw new GoalsError(
          'STALE_VERSION',
          `${LABEL[kind]} "${id}" is at version ${current.version}, not ${expectedVersion}: someone changed it since you read it (last by ${current.updatedBy} at ${current.updatedAt}). Read it again, re-apply your change and send version ${current.version}.`,
          [{ field: 'version', message: `current version is ${current.version}` }],
        );
      }
      const next = await change(structuredClone(current.value), current);
      return this.append(kind, id, current.version + 1, current.value, next, meta, lookupKey);
    });
  }

  private async append<K extends EntityKind>(
    kind: K,
    id: string,
    version: number,
    before: EntityTypes[K] | null,
    after: EntityTypes[K],
    meta: ChangeMeta,
    lookupKey: string,
  ): Promise<Stored<EntityTypes[K]>> {
    const at = this.clock();
    await this.store.insert(TABLE, [
      {
        kind,
        id,
        version,
        change_id: randomUUID(),
        action: meta.action,
        actor_id: meta.actorId,
        at,
        comment: meta.comment ?? '',
        before: before === null ? '' : JSON.stringify(before),
        after: JSON.stringify(after),
        lookup_key: lookupKey,
      },
    ]);
    return { version, updatedAt: new Date(at).toISOString(), updatedBy: meta.actorId, value: after };
  }

  /** The audit trail of one entity, oldest first. */
  async history(kind: EntityKind, id: string): Promise<ChangeRecord[]> {
    const rows = await this.store.query<ChangeRow>(
      `SELECT ${COLUMNS} FROM ${this.store.table(TABLE)} WHERE kind = {kind:String} AND id = {id:String} ORDER BY version, at, change_id`,
      { kind, id },
    );
    return rows.map(toRecord);
  }

  /** The audit trail across entities, newest first. */
  async changes(filter: { kind?: EntityKind | undefined; actorId?: string | undefined; limit: number }): Promise<ChangeRecord[]> {
    const rows = await this.store.query<ChangeRow>(
      `SELECT ${COLUMNS} FROM ${this.store.table(TABLE)}
       WHERE ({anyKind:UInt8} = 1 OR kind = {kind:String}) AND ({anyActor:UInt8} = 1 OR actor_id = {actor:String})
       ORDER BY at DESC, change_id LIMIT {limit:UInt32}`,
      {
        anyKind: filter.kind ? 0 : 1,
        kind: filter.kind ?? '',
        anyActor: filter.actorId ? 0 : 1,
        actor: filter.actorId ?? '',
        limit: filter.limit,
      },
    );
    return rows.map(toRecord);
  }
}
