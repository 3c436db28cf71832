import type { Prisma, PrismaClient } from '../platform/prisma-client/client.js';
import type { ClassifierModelKind, ClassifierModelRecord } from './threat-types.js';

export type StoredModel = Omit<ClassifierModelRecord, 'active'>;

export interface NewClassifierModel {
  kind: ClassifierModelKind;
  version: string;
  trainedOn: number;
  cvAccuracy: number | null;
  rulesAccuracy: number | null;
  promoted: boolean;
  model: unknown;
}

/** Persistence of trained models, shared by every instance (the service never touches Prisma). */
export interface ClassifierModelRepository {
  /** Stores a model; saving a version again (same content) makes it the newest. */
  save(model: NewClassifierModel): Promise<StoredModel>;
  /** The newest model of a kind, without its (large) body. */
  latest(kind: ClassifierModelKind): Promise<StoredModel | null>;
  body(id: string): Promise<unknown>;
  list(kind: ClassifierModelKind | null, take: number): Promise<StoredModel[]>;
  /** Deletes all but the newest `keep` models of a kind. */
  prune(kind: ClassifierModelKind, keep: number): Promise<number>;
}

const SUMMARY = {
  id: true,
  kind: true,
  version: true,
  createdAt: true,
  trainedOn: true,
  cvAccuracy: true,
  rulesAccuracy: true,
  promoted: true,
} as const;

export class PgClassifierModelRepository implements ClassifierModelRepository {
  constructor(private readonly prisma: PrismaClient) {}

  save(model: NewClassifierModel): Promise<StoredModel> {
    const body = model.model as Prisma.InputJsonValue;
    return this.prisma.classifierModel.upsert({
      where: { version: model.version },
      create: { ...model, model: body },
      update: { createdAt: new Date(), promoted: model.promoted },
      select: SUMMARY,
    });
  }

  latest(kind: ClassifierModelKind): Promise<StoredModel | null> {
    return this.prisma.classifierModel.findFirst({
      where: { kind },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      select: SUMMARY,
    });
  }

  async body(id: string): Promise<unknown> {
    const row = await this.prisma.classifierModel.findUnique({ where: { id }, select: { model: true } });
    return row?.model ?? null;
  }

  list(kind: ClassifierModelKind | null, take: number): Promise<StoredModel[]> {
    return this.prisma.classifierModel.findMany({
      where: kind ? { kind } : {},
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
      select: SUMMARY,
    });
  }

  async prune(kind: ClassifierModelKind, keep: number): Promise<number> {
    const stale = await this.prisma.classifierModel.findMany({
      where: { kind },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      skip: keep,
      select: { id: true },
    });
    if (stale.length === 0) return 0;
    const { count } = await this.prisma.classifierModel.deleteMany({
      where: { id: { in: stale.map((s) => s.id) } },
    });
    return count;
  }
}
