// OCR for the jobs worker: Tesseract 5 compiled to Wasm (tesseract-wasm,
// BSD-2-Clause) with the English LSTM model (tessdata "best_int", from
// @tesseract.js-data/eng), both bundled into the worker.
//
// Workers may not compile Wasm from bytes at run time; wrangler bundles
// the engine's .wasm as a compiled module. tesseract-wasm's loader only
// takes bytes, so while it starts, WebAssembly.instantiate is pointed at
// that module (one place, restored at once). The model is gunzipped once
// per isolate. Pages are read one at a time: the engine holds one image.
import { createOCREngine } from "tesseract-wasm";
import core from "../node_modules/tesseract-wasm/dist/tesseract-core.wasm";
import model from "../node_modules/@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz";

let engine = null;
let queue = Promise.resolve();

async function start() {
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = (_bytes, imports) =>
    instantiate.call(WebAssembly, core, imports).then((instance) => ({ module: core, instance }));
  let e;
  try {
    e = await createOCREngine({ wasmBinary: new Uint8Array(0) });
  } finally {
    WebAssembly.instantiate = instantiate;
  }
  const unzipped = new Blob([model]).stream().pipeThrough(new DecompressionStream("gzip"));
  e.loadModel(new Uint8Array(await new Response(unzipped).arrayBuffer()));
  return e;
}

/** Reads one page: grey pixels in, words out (text, box, confidence). */
async function readPage(grey, width, height) {
  engine ??= await start();
  // The engine takes RGBA (ImageData's layout).
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; i < grey.length; i++, j += 4) {
    data[j] = data[j + 1] = data[j + 2] = grey[i];
    data[j + 3] = 255;
  }
  engine.loadImage({ data, width, height });
  try {
    return engine.getTextBoxes("word").map((w) => ({
      text: w.text,
      confidence: w.confidence,
      left: w.rect.left,
      top: w.rect.top,
      right: w.rect.right,
      bottom: w.rect.bottom,
      line_end: (w.flags & 2) !== 0,
    }));
  } finally {
    engine.clearImage();
  }
}

/** Pages from concurrent jobs of one isolate take turns. */
export function ocr(grey, width, height) {
  const turn = queue.then(() => readPage(grey, width, height));
  queue = turn.catch(() => {});
  return turn;
}
