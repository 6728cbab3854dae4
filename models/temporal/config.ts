/**
 * Configuration of a temporal multi-task model (the paper's architectures), as plain data. The
 * ONNX graph builder, the trainer and the model bundles all read this one description, so trained
 * weights load into exactly the graph that runs them.
 */
import { z } from 'zod';
import { TASKS, type Task } from '../../common/labels.js';

const int = (min: number) => z.number().int().min(min);

export const EncoderSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('gru'), layers: int(1), hidden: int(1), dropout: z.number().min(0).max(1).default(0) }),
  z.object({ type: z.literal('lstm'), layers: int(1), hidden: int(1), dropout: z.number().min(0).max(1).default(0) }),
  z.object({
    type: z.literal('transformer'),
    layers: int(1),
    /** Width of the model (the input is projected to it). */
    dModel: int(1),
    heads: int(1),
    ff: int(1),
    dropout: z.number().min(0).max(1).default(0),
    /**
     * Where each layer normalises: "post" (after each residual sum, as the paper's encoder and
     * PyTorch's default) or "pre" (before each sublayer, with a final normalisation).
     */
    norm: z.enum(['post', 'pre']).default('post'),
    /** Absolute positions added to the projected input ("none": only the relative bias locates frames). */
    positions: z.enum(['sinusoidal', 'none']).default('sinusoidal'),
    /**
     * A learned bias on each head's attention scores by the distance j − i between frames, clipped
     * to ±relativeBias frames and initialised to a decay −slope_h·|j − i| (slopes 2^(−8h/heads)):
     * a locality prior. 0: none (the paper).
     */
    relativeBias: int(0).default(0),
  }),
]);
export type EncoderConfig = z.infer<typeof EncoderSchema>;

const TaskSchema = z.enum(TASKS);

export const FrameworkSchema = z.discriminatedUnion('type', [
  /** One shared encoder; a head per task. */
  z.object({ type: z.literal('basic') }),
  /** Shared lower encoder (the encoder's layers), then per task `taskLayers` more layers of the same kind. */
  z.object({ type: z.literal('share-bottom'), taskLayers: int(1) }),
  /**
   * Share-bottom, plus the (detached) outputs of source tasks fed into a target task's upper
   * encoder, embedded as probability-weighted sums of learned vectors of size `embedDim`.
   */
  z.object({
    type: z.literal('feedback'),
    taskLayers: int(1),
    embedDim: int(1).default(256),
    links: z.array(z.object({ from: z.array(TaskSchema).min(1), to: TaskSchema })).min(1),
  }),
]);
export type FrameworkConfig = z.infer<typeof FrameworkSchema>;

export const TemporalConfigSchema = z.object({
  inputDim: int(1),
  tasks: z.array(TaskSchema).min(1).default([...TASKS]),
  encoder: EncoderSchema,
  framework: FrameworkSchema.default({ type: 'basic' }),
  /** Hidden sizes of each task head: [Linear → ReLU] per entry, then the output Linear. */
  heads: z.object({ hidden: z.array(int(1)).default([512, 256]), dropout: z.number().min(0).max(1).default(0) }).default({ hidden: [512, 256], dropout: 0 }),
  /** Frames per segment (the paper: 250). */
  segmentLength: int(1).default(250),
});
export type TemporalConfig = z.infer<typeof TemporalConfigSchema>;

export function parseTemporalConfig(raw: unknown): TemporalConfig {
  const config = TemporalConfigSchema.parse(raw);
  checkFramework(config);
  return config;
}

/** Rules zod cannot express: feedback links must form an order the tasks can be computed in. */
export function checkFramework(config: TemporalConfig): void {
  const f = config.framework;
  if (f.type !== 'feedback') return;
  for (const link of f.links) {
    if (!config.tasks.includes(link.to)) throw new Error(`feedback target "${link.to}" is not among the tasks`);
    for (const s of link.from) {
      if (!config.tasks.includes(s)) throw new Error(`feedback source "${s}" is not among the tasks`);
      if (s === link.to) throw new Error(`feedback from "${s}" to itself`);
    }
  }
  taskOrder(config); // throws on cycles
}

/** Feedback sources of a task (empty unless the framework is feedback). */
export function feedbackSources(config: TemporalConfig, task: Task): Task[] {
  const f = config.framework;
  if (f.type !== 'feedback') return [];
  return f.links.filter((l) => l.to === task).flatMap((l) => l.from);
}

/** Tasks in an order where every feedback source comes before its target. */
export function taskOrder(config: TemporalConfig): Task[] {
  const order: Task[] = [];
  const visiting = new Set<Task>();
  const visit = (t: Task): void => {
    if (order.includes(t)) return;
    if (visiting.has(t)) throw new Error(`feedback links form a cycle through "${t}"`);
    visiting.add(t);
    for (const s of feedbackSources(config, t)) visit(s);
    visiting.delete(t);
    order.push(t);
  };
  for (const t of config.tasks) visit(t);
  return order;
}

/** Width of the encoder's output (hidden size, or the transformer's model width). */
export const encoderWidth = (e: EncoderConfig): number => (e.type === 'transformer' ? e.dModel : e.hidden);

/** The recurrent stacks whose final state is carried from one segment to the next. */
export interface StateSpec {
  /** ONNX input `state_in.<name>` and output `state_out.<name>`. */
  name: string;
  /** Shape with 'batch' for the batch axis: [layers, 'batch', hidden]. */
  dims: (number | 'batch')[];
}

/** Encoder stacks of a configuration: 'shared', plus one per task for share-bottom and feedback. */
export function encoderStacks(config: TemporalConfig): { name: string; layers: number; task?: Task }[] {
  const stacks: { name: string; layers: number; task?: Task }[] = [{ name: 'shared', layers: config.encoder.layers }];
  const f = config.framework;
  if (f.type !== 'basic') for (const t of config.tasks) stacks.push({ name: t, layers: f.taskLayers, task: t });
  return stacks;
}

export function stateSpecs(config: TemporalConfig): StateSpec[] {
  const e = config.encoder;
  if (e.type === 'transformer') return [];
  return encoderStacks(config).flatMap((s) => {
    const dims: (number | 'batch')[] = [s.layers, 'batch', e.hidden];
    return e.type === 'lstm' ? [{ name: `${s.name}.h`, dims }, { name: `${s.name}.c`, dims }] : [{ name: s.name, dims }];
  });
}
