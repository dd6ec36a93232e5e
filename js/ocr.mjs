// OCR for the jobs worker: Tesseract 5 compiled to Wasm (tesseract-wasm,
// BSD-2-Clause) with the English LSTM model (tessdata "best_int", from
// @tesseract.js-data/eng), both bundled into the worker.
//
// Workers may not compile Wasm from bytes at run time; wrangler bundles
// the engine's .wasm as a compiled module. tesseract-wasm's loader only
// takes bytes, so while it starts, WebAssembly.instantiate is pointed at
// that module (one place, restored at once). The English model is
// gunzipped once per isolate. Other languages' models are installed by the
// operator (PUT /v1/admin/ocr-models/{language}) and handed over gzipped
// by the Rust side, which reads them from R2; the engine of the last one
// used is kept beside the English one (each holds its model, some tens of
// MB of the isolate's 128). Pages are read one at a time: an engine holds
// one image.
import { createOCREngine } from "tesseract-wasm";
import core from "../node_modules/tesseract-wasm/dist/tesseract-core.wasm";
import model from "../node_modules/@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz";

let english = null;
let other = null; // { language, engine }
let queue = Promise.resolve();

async function gunzip(gz) {
  const unzipped = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(unzipped).arrayBuffer());
}

async function start(gz) {
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = (_bytes, imports) =>
    instantiate.call(WebAssembly, core, imports).then((instance) => ({ module: core, instance }));
  let e;
  try {
    e = await createOCREngine({ wasmBinary: new Uint8Array(0) });
  } finally {
    WebAssembly.instantiate = instantiate;
  }
  e.loadModel(await gunzip(gz));
  return e;
}

/** The engine for `language`: English built in, another from its model. */
async function engineFor(language, gz) {
  if (!gz) return (english ??= await start(model));
  if (other?.language !== language) {
    other?.engine.destroy?.();
    other = null;
    other = { language, engine: await start(gz) };
  }
  return other.engine;
}

/** Reads one page: grey pixels in, words out (text, box, confidence). */
async function readPage([grey, width, height], language, gz) {
  const engine = await engineFor(language, gz);
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
export function ocr(page, language, gz) {
  const turn = queue.then(() => readPage(page, language, gz));
  queue = turn.catch(() => {});
  return turn;
}
