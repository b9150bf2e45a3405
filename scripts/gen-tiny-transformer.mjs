#!/usr/bin/env node
// Writes the tiny GPT-2-shaped transformers of the proof-of-inference research as ONNX:
//   models/tiny-gpt.onnx        2 blocks, d_model 64, 2 heads, MLP 256, context 32, vocab 64 (~110 k parameters)
//   models/tiny-gpt-small.onnx  a cheaper stand-in: 1 block, d_model 32 (its own weights), for the "swapped model" cheater
//   models/tiny-gpt-skip.onnx   the same weights as tiny-gpt.onnx with block 1 left out, for the "skipped layers" cheater
//   models/tiny-gpt.json        vocabulary, shapes, parameter counts, training, checked products, SHA-256 of each file
//
// Training (honest scope): only the token embedding, the final LayerNorm's input and the LM head are trained,
// as a character bigram model (full-batch Adam on the bigram counts of the embedded text). The positions and the
// two blocks keep their seeded GPT-2-style initialisation (N(0, 0.02), output projections scaled by 1/√(2·layers));
// they do real computation on every token but were not trained. The script then runs the exported graph with
// onnxruntime-node and records its measured cross-entropy on the text beside the bigram's.
//
// Deterministic: the same script writes the same bytes. Needs no Python: protobufjs encodes the small subset of
// onnx.proto (IR version 8, opset 17) defined below. Run: node scripts/gen-tiny-transformer.mjs
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import * as ort from 'onnxruntime-node';

// ---- the onnx.proto subset (field numbers as in onnx/onnx.proto) ----
const ONNX_PROTO = `
syntax = "proto2";
package onnx;
message AttributeProto {
  optional string name = 1; optional float f = 2; optional int64 i = 3; optional bytes s = 4;
  repeated float floats = 7; repeated int64 ints = 8; optional int32 type = 20;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message NodeProto {
  repeated string input = 1; repeated string output = 2; optional string name = 3; optional string op_type = 4;
  repeated AttributeProto attribute = 5; optional string domain = 7;
}
message GraphProto {
  repeated NodeProto node = 1; optional string name = 2; repeated TensorProto initializer = 5;
  optional string doc_string = 10; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12;
}
message TensorProto { repeated int64 dims = 1; optional int32 data_type = 2; optional string name = 8; optional bytes raw_data = 9; }
message TensorShapeProto { message Dimension { optional int64 dim_value = 1; optional string dim_param = 2; } repeated Dimension dim = 1; }
message TypeProto { message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; } optional Tensor tensor_type = 1; }
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message ModelProto {
  optional int64 ir_version = 1; repeated OperatorSetIdProto opset_import = 8; optional string producer_name = 2;
  optional string producer_version = 3; optional int64 model_version = 5; optional string doc_string = 6; optional GraphProto graph = 7;
}
`;
const root = protobuf.parse(ONNX_PROTO).root;
const ModelProto = root.lookupType('onnx.ModelProto');
const FLOAT = 1;
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 };

// ---- the text (public domain: Lincoln, the Gettysburg Address, 1863; Dickens, A Tale of Two Cities, 1859) ----
const TEXT = `Four score and seven years ago our fathers brought forth on this continent, a new nation, conceived in Liberty, and dedicated to the proposition that all men are created equal.
Now we are engaged in a great civil war, testing whether that nation, or any nation so conceived and so dedicated, can long endure. We are met on a great battle-field of that war. We have come to dedicate a portion of that field, as a final resting place for those who here gave their lives that that nation might live. It is altogether fitting and proper that we should do this.
But, in a larger sense, we can not dedicate, we can not consecrate, we can not hallow this ground. The brave men, living and dead, who struggled here, have consecrated it, far above our poor power to add or detract. The world will little note, nor long remember what we say here, but it can never forget what they did here. It is for us the living, rather, to be dedicated here to the unfinished work which they who fought here have thus far so nobly advanced. It is rather for us to be here dedicated to the great task remaining before us, that from these honored dead we take increased devotion to that cause for which they gave the last full measure of devotion, that we here highly resolve that these dead shall not have died in vain, that this nation, under God, shall have a new birth of freedom, and that government of the people, by the people, for the people, shall not perish from the earth.
It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair, we had everything before us, we had nothing before us, we were all going direct to Heaven, we were all going direct the other way; in short, the period was so far like the present period, that some of its noisiest authorities insisted on its being received, for good or for evil, in the superlative degree of comparison only.
There were a king with a large jaw and a queen with a plain face, on the throne of England; there were a king with a large jaw and a queen with a fair face, on the throne of France. In both countries it was clearer than crystal to the lords of the State preserves of loaves and fishes, that things in general were settled for ever.
`;
const VOCAB = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?\'-\n"*';
if (VOCAB.length !== 64) throw new Error(`vocabulary has ${VOCAB.length} symbols, not 64`);
const UNKNOWN = VOCAB.indexOf('*');
const encode = (s) => Array.from(s, (c) => (VOCAB.includes(c) ? VOCAB.indexOf(c) : UNKNOWN));
const IDS = encode(TEXT);

// ---- seeded randomness (mulberry32 + Box–Muller): the same bytes on every run ----
function rng(seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { uniform, normal: () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()) };
}
const normalArray = (r, n, std) => Float32Array.from({ length: n }, () => r.normal() * std);

// ---- bigram training of embedding + final LayerNorm input + LM head ----
function layerNorm(x, eps = 1e-5) {
  const n = x.length;
  let mean = 0;
  for (const v of x) mean += v / n;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2 / n;
  const inv = 1 / Math.sqrt(variance + eps);
  return { y: x.map((v) => (v - mean) * inv), inv };
}

function trainBigram({ vocab, d, emb, head, headBias, steps, lr }) {
  const counts = Array.from({ length: vocab }, () => new Float64Array(vocab));
  for (let i = 0; i + 1 < IDS.length; i++) counts[IDS[i]][IDS[i + 1]]++;
  const total = IDS.length - 1;
  const params = [emb, head, headBias];
  const m = params.map((p) => new Float64Array(p.length));
  const v = params.map((p) => new Float64Array(p.length));
  let loss = 0;
  for (let step = 1; step <= steps; step++) {
    const grads = params.map((p) => new Float64Array(p.length));
    loss = 0;
    for (let a = 0; a < vocab; a++) {
      let na = 0;
      for (const c of counts[a]) na += c;
      if (na === 0) continue;
      const h = Array.from(emb.subarray(a * d, (a + 1) * d));
      const { y: z, inv } = layerNorm(h);
      const logits = new Float64Array(vocab);
      for (let b = 0; b < vocab; b++) {
        let s = headBias[b];
        for (let j = 0; j < d; j++) s += z[j] * head[j * vocab + b];
        logits[b] = s;
      }
      const max = Math.max(...logits);
      let sum = 0;
      for (let b = 0; b < vocab; b++) sum += Math.exp(logits[b] - max);
      const dz = new Float64Array(d);
      for (let b = 0; b < vocab; b++) {
        const p = Math.exp(logits[b] - max) / sum;
        if (counts[a][b] > 0) loss -= (counts[a][b] * (logits[b] - max - Math.log(sum))) / total;
        const g = (na * p - counts[a][b]) / total;
        grads[2][b] += g;
        for (let j = 0; j < d; j++) {
          grads[1][j * vocab + b] += z[j] * g;
          dz[j] += head[j * vocab + b] * g;
        }
      }
      // LayerNorm backward (no gain): dx = inv · (dz − mean(dz) − z · mean(dz ⊙ z)).
      let mdz = 0;
      let mdzz = 0;
      for (let j = 0; j < d; j++) {
        mdz += dz[j] / d;
        mdzz += (dz[j] * z[j]) / d;
      }
      for (let j = 0; j < d; j++) grads[0][a * d + j] += inv * (dz[j] - mdz - z[j] * mdzz);
    }
    params.forEach((p, k) => {
      for (let i = 0; i < p.length; i++) {
        m[k][i] = 0.9 * m[k][i] + 0.1 * grads[k][i];
        v[k][i] = 0.999 * v[k][i] + 0.001 * grads[k][i] ** 2;
        p[i] -= (lr * (m[k][i] / (1 - 0.9 ** step))) / (Math.sqrt(v[k][i] / (1 - 0.999 ** step)) + 1e-8);
      }
    });
  }
  return loss;
}

// ---- weights ----
function makeWeights({ seed, d, heads, blocks, context, vocab, mlp }) {
  const r = rng(seed);
  const w = {
    tok_emb: normalArray(r, vocab * d, 1),
    pos_emb: normalArray(r, context * d, 0.02),
    blocks: [],
    lnf_g: new Float32Array(d).fill(1),
    lnf_b: new Float32Array(d),
    head: normalArray(r, d * vocab, 0.02),
    head_b: new Float32Array(vocab),
  };
  const proj = 0.02 / Math.sqrt(2 * blocks);
  for (let b = 0; b < blocks; b++) {
    w.blocks.push({
      ln1_g: new Float32Array(d).fill(1), ln1_b: new Float32Array(d),
      w_qkv: normalArray(r, d * 3 * d, 0.02), b_qkv: new Float32Array(3 * d),
      w_o: normalArray(r, d * d, proj), b_o: new Float32Array(d),
      ln2_g: new Float32Array(d).fill(1), ln2_b: new Float32Array(d),
      w1: normalArray(r, d * mlp, 0.02), b1: new Float32Array(mlp),
      w2: normalArray(r, mlp * d, proj), b2: new Float32Array(d),
    });
  }
  const emb = Float64Array.from(w.tok_emb);
  const head = Float64Array.from(w.head);
  const headBias = new Float64Array(vocab);
  const loss = trainBigram({ vocab, d, emb, head, headBias, steps: 400, lr: 0.03 });
  w.tok_emb = Float32Array.from(emb);
  w.head = Float32Array.from(head);
  w.head_b = Float32Array.from(headBias);
  void heads;
  return { weights: w, bigramLoss: loss };
}

// ---- the graph ----
function buildModel(w, { d, heads, context, vocab, mlp, blockIndices, name }) {
  const dh = d / heads;
  const nodes = [];
  const inits = [];
  const outputs = [];
  const tensor = (tname, dims, data) => {
    const isInt = data instanceof BigInt64Array;
    inits.push({ name: tname, dims, dataType: isInt ? INT64 : FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return tname;
  };
  const ints = (tname, values) => tensor(tname, [values.length], BigInt64Array.from(values.map(BigInt)));
  const scalarInt = (tname, value) => { inits.push({ name: tname, dims: [], dataType: INT64, rawData: new Uint8Array(BigInt64Array.of(BigInt(value)).buffer) }); return tname; };
  const scalarFloat = (tname, value) => { inits.push({ name: tname, dims: [], dataType: FLOAT, rawData: new Uint8Array(Float32Array.of(value).buffer) }); return tname; };
  let counter = 0;
  const node = (op, inputs, attrs = {}, out = `t${counter}`) => {
    counter++;
    const attribute = Object.entries(attrs).map(([k, val]) =>
      Array.isArray(val) ? { name: k, type: ATTR.INTS, ints: val } : Number.isInteger(val) && k !== 'epsilon' ? { name: k, type: ATTR.INT, i: val } : { name: k, type: ATTR.FLOAT, f: val });
    nodes.push({ opType: op, input: inputs, output: [out], name: `${op}_${counter}`, attribute });
    return out;
  };
  const f32 = (tname, dims) => ({ name: tname, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((x) => (typeof x === 'string' ? { dimParam: x } : { dimValue: x })) } } } });
  const output = (tname, dims) => { outputs.push(f32(tname, dims)); return tname; };

  // Positions and the causal mask, from the length T of the window.
  const ids = node('Reshape', ['input_ids', ints('shape_flat', [-1])]);
  const shape = node('Shape', [ids]);
  const T = node('Gather', [shape, scalarInt('zero', 0)], { axis: 0 });
  const positions = node('Range', [scalarInt('range_start', 0), T, scalarInt('range_step', 1)]);
  const mask = new Float32Array(context * context);
  for (let i = 0; i < context; i++) for (let j = i + 1; j < context; j++) mask[i * context + j] = -1e9;
  const maskTT = node('Slice', [tensor('causal_mask', [context, context], mask), ints('mask_starts', [0, 0]), node('Concat', [shape, shape], { axis: 0 }), ints('mask_axes', [0, 1])]);
  const tok = node('Gather', [tensor('tok_emb', [vocab, d], w.tok_emb), ids], { axis: 0 });
  const pos = node('Gather', [tensor('pos_emb', [context, d], w.pos_emb), positions], { axis: 0 });
  let h = node('Add', [tok, pos]);
  const scale = scalarFloat('attn_scale', 1 / Math.sqrt(dh));
  const checked = [];
  blockIndices.forEach((src, b) => {
    const bw = w.blocks[src];
    const p = `b${b}`;
    const wq = tensor(`${p}.attn.w_qkv`, [d, 3 * d], bw.w_qkv);
    const x1 = output(node('LayerNormalization', [h, tensor(`${p}.ln1.g`, [d], bw.ln1_g), tensor(`${p}.ln1.b`, [d], bw.ln1_b)], { axis: -1, epsilon: 1e-5 }, `${p}.attn_in`), ['T', d]);
    const qkvMm = output(node('MatMul', [x1, wq], {}, `${p}.qkv_mm`), ['T', 3 * d]);
    const qkv = node('Add', [qkvMm, tensor(`${p}.attn.b_qkv`, [3 * d], bw.b_qkv)]);
    const split = node('Transpose', [node('Reshape', [qkv, ints(`${p}.qkv_shape`, [-1, 3, heads, dh])])], { perm: [1, 2, 0, 3] });
    const q = node('Gather', [split, scalarInt(`${p}.i0`, 0)], { axis: 0 });
    const k = node('Gather', [split, scalarInt(`${p}.i1`, 1)], { axis: 0 });
    const v = node('Gather', [split, scalarInt(`${p}.i2`, 2)], { axis: 0 });
    const scores = node('Add', [node('Mul', [node('MatMul', [q, node('Transpose', [k], { perm: [0, 2, 1] })]), scale]), maskTT]);
    const att = node('MatMul', [node('Softmax', [scores], { axis: -1 }), v]);
    const merged = node('Reshape', [node('Transpose', [att], { perm: [1, 0, 2] }), ints(`${p}.merge_shape`, [-1, d])]);
    h = node('Add', [h, node('Add', [node('MatMul', [merged, tensor(`${p}.attn.w_o`, [d, d], bw.w_o)]), tensor(`${p}.attn.b_o`, [d], bw.b_o)])]);
    const w1 = tensor(`${p}.mlp.w1`, [d, mlp], bw.w1);
    const x2 = output(node('LayerNormalization', [h, tensor(`${p}.ln2.g`, [d], bw.ln2_g), tensor(`${p}.ln2.b`, [d], bw.ln2_b)], { axis: -1, epsilon: 1e-5 }, `${p}.mlp_in`), ['T', d]);
    const mlpMm = output(node('MatMul', [x2, w1], {}, `${p}.mlp_mm`), ['T', mlp]);
    const act = node('Relu', [node('Add', [mlpMm, tensor(`${p}.mlp.b1`, [mlp], bw.b1)])]);
    h = node('Add', [h, node('Add', [node('MatMul', [act, tensor(`${p}.mlp.w2`, [mlp, d], bw.w2)]), tensor(`${p}.mlp.b2`, [d], bw.b2)])]);
    checked.push({ a: `${p}.attn_in`, b: `${p}.attn.w_qkv`, c: `${p}.qkv_mm`, shape: [d, 3 * d] }, { a: `${p}.mlp_in`, b: `${p}.mlp.w1`, c: `${p}.mlp_mm`, shape: [d, mlp] });
    // The verifier reads the weights it checks against (and the first LayerNorm's) from its own copy of the model.
    for (const [wname, dims] of [[`${p}.attn.w_qkv`, [d, 3 * d]], [`${p}.mlp.w1`, [d, mlp]], [`${p}.ln1.g`, [d]], [`${p}.ln1.b`, [d]]]) output(node('Identity', [wname], {}, `weight:${wname}`), dims);
  });
  const hf = node('LayerNormalization', [h, tensor('lnf.g', [d], w.lnf_g), tensor('lnf.b', [d], w.lnf_b)], { axis: -1, epsilon: 1e-5 });
  node('Add', [node('MatMul', [hf, tensor('head.w', [d, vocab], w.head)]), tensor('head.b', [vocab], w.head_b)], {}, 'logits');
  outputs.unshift(f32('logits', ['T', vocab]));
  output(node('Identity', ['tok_emb'], {}, 'weight:tok_emb'), [vocab, d]);
  output(node('Identity', ['pos_emb'], {}, 'weight:pos_emb'), [context, d]);
  const graph = {
    name, node: nodes, initializer: inits,
    input: [{ name: 'input_ids', type: { tensorType: { elemType: INT64, shape: { dim: [{ dimValue: 1 }, { dimParam: 'T' }] } } } }],
    output: outputs,
  };
  const model = { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'maxwell scripts/gen-tiny-transformer.mjs', producerVersion: '1', modelVersion: 1, graph };
  const err = ModelProto.verify(model);
  if (err !== null) throw new Error(err);
  const bytes = ModelProto.encode(ModelProto.fromObject(model)).finish();
  const parameters = inits.filter((t) => t.dataType === FLOAT && t.name !== 'causal_mask' && t.name !== 'attn_scale').reduce((s, t) => s + t.dims.reduce((x, y) => x * y, 1), 0);
  return { bytes, parameters, checked };
}

// ---- measured cross-entropy of the exported graph on the text (windows of the context length) ----
async function measureLoss(bytes, context) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  let loss = 0;
  let n = 0;
  for (let start = 0; start + context + 1 <= IDS.length; start += context) {
    const window = IDS.slice(start, start + context);
    const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(window.map(BigInt)), [1, context]) }, ['logits']);
    const logits = out.logits.data;
    const vocab = logits.length / context;
    for (let t = 0; t < context; t++) {
      const row = logits.subarray(t * vocab, (t + 1) * vocab);
      const max = Math.max(...row);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      loss -= row[IDS[start + t + 1]] - max - Math.log(sum);
      n++;
    }
  }
  await session.release();
  return loss / n;
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const dir = new URL('../models/', import.meta.url);
mkdirSync(dir, { recursive: true });
const FULL = { d: 64, heads: 2, blocks: 2, context: 32, vocab: 64, mlp: 256 };
const SMALL = { d: 32, heads: 2, blocks: 1, context: 32, vocab: 64, mlp: 128 };
const full = makeWeights({ seed: 14, ...FULL });
const small = makeWeights({ seed: 15, ...SMALL });
const files = {
  'tiny-gpt.onnx': { ...buildModel(full.weights, { ...FULL, blockIndices: [0, 1], name: 'tiny-gpt' }), config: FULL, bigramLoss: full.bigramLoss, role: 'the model served and verified' },
  'tiny-gpt-small.onnx': { ...buildModel(small.weights, { ...SMALL, blockIndices: [0], name: 'tiny-gpt-small' }), config: SMALL, bigramLoss: small.bigramLoss, role: 'cheater: a smaller model with its own weights (1 block, d_model 32)' },
  'tiny-gpt-skip.onnx': { ...buildModel(full.weights, { ...FULL, blockIndices: [0], name: 'tiny-gpt-skip' }), config: { ...FULL, blocks: 1 }, bigramLoss: full.bigramLoss, role: 'cheater: tiny-gpt.onnx with block 1 skipped' },
};
const description = {
  generator: 'scripts/gen-tiny-transformer.mjs',
  format: 'ONNX IR version 8, opset 17; input input_ids int64 [1, T] (T ≤ context); output logits float32 [T, vocab]; no KV cache',
  vocab: VOCAB,
  unknownSymbol: '*',
  text: 'Lincoln, the Gettysburg Address (1863) and Dickens, A Tale of Two Cities (1859), opening: public domain',
  textSymbols: IDS.length,
  corpus: TEXT,
  training: 'token embedding, final LayerNorm input and LM head trained as a character bigram model (full-batch Adam, 400 steps, lr 0.03, on the text); positions and blocks keep their seeded N(0, 0.02) initialisation (output projections ×1/√(2·blocks)) and are NOT trained',
  uniformLoss: Math.log(64),
  models: {},
};
for (const [file, m] of Object.entries(files)) {
  writeFileSync(new URL(file, dir), m.bytes);
  const measuredLoss = await measureLoss(m.bytes, m.config.context);
  description.models[file] = {
    role: m.role, sha256: sha256(m.bytes), bytes: m.bytes.length, parameters: m.parameters, ...m.config,
    bigramTrainingLoss: Number(m.bigramLoss.toFixed(4)), measuredLoss: Number(measuredLoss.toFixed(4)),
    checkedProducts: m.checked,
  };
  console.error(`wrote models/${file}: ${m.bytes.length} bytes, ${m.parameters} parameters, bigram loss ${m.bigramLoss.toFixed(3)}, ONNX loss ${measuredLoss.toFixed(3)} nats/symbol`);
}
writeFileSync(new URL('tiny-gpt.json', dir), `${JSON.stringify(description, null, 2)}\n`);
console.error('wrote models/tiny-gpt.json');
