/**
 * Writes the tiny committed test fixtures under test/fixtures/.
 * Run: node --import tsx scripts/make-test-fixtures.ts
 * gemm-softmax.onnx: y = softmax(x·Wᵀ + b), x: [N, 2] float32, y: [N, 3],
 * with the W and b below (test/onnxruntime-smoke.test.ts recomputes by hand).
 */
import fs from 'node:fs';
import path from 'node:path';

import { gemmSoftmaxModel } from '../test/helpers/onnx-builder';

export const GEMM_SOFTMAX = { W: [1, 0, 0, 1, 1, -1], b: [0, 0.5, -0.5], k: 3, d: 2 };

const dir = path.join(__dirname, '..', 'test', 'fixtures');
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'gemm-softmax.onnx'), gemmSoftmaxModel(GEMM_SOFTMAX));
console.log(`wrote ${path.join(dir, 'gemm-softmax.onnx')}`);
