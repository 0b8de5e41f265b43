// GTCRN speech denoiser (optional stage before VAD/ASR) through sherpa-onnx-node's OnlineSpeechDenoiser.
// The denoiser is stateful (STFT overlap and the model's conv/attention caches), so each call stream owns one native
// instance; the shared engine holds the checked config. sherpa needs the model's metadata (model_type, sample_rate,
// n_fft, hop_length, cache shapes): the raw upstream gtcrn_simple.onnx lacks it and is rejected here, before sherpa.
import { checkOnnx } from "./model-files.ts";
import { float32ToInt16, int16ToFloat32 } from "../media/pcm.ts";
import { type SherpaOnlineDenoiser, type SherpaOnlineDenoiserConfig, sherpa } from "./sherpa-api.ts";
import { type Denoiser, type DenoiserStream, EngineLoadError } from "./types.ts";

export interface GtcrnDenoiserOptions {
  model: string;
  numThreads?: number;
}

const REQUIRED_METADATA = ["model_type", "sample_rate", "n_fft", "hop_length", "conv_cache_shape"];

export class GtcrnDenoiser implements Denoiser {
  readonly sampleRate = 16000;
  private readonly config: SherpaOnlineDenoiserConfig;

  constructor(opts: GtcrnDenoiserOptions) {
    const { metadata } = checkOnnx(opts.model);
    const missing = REQUIRED_METADATA.filter((k) => !(k in metadata));
    if (missing.length > 0) {
      throw new EngineLoadError(opts.model, `GTCRN model lacks sherpa-onnx metadata: ${missing.join(", ")}`);
    }
    if (metadata.model_type !== "gtcrn") {
      throw new EngineLoadError(opts.model, `model_type is ${metadata.model_type}, expected gtcrn`);
    }
    if (metadata.sample_rate !== "16000") {
      throw new EngineLoadError(opts.model, `sample_rate is ${metadata.sample_rate}, expected 16000`);
    }
    this.config = {
      model: { gtcrn: { model: opts.model }, numThreads: opts.numThreads ?? 1, provider: "cpu", debug: 0 },
    };
  }

  createStream(): DenoiserStream {
    return new GtcrnStream(new (sherpa().OnlineSpeechDenoiser)(this.config));
  }
}

class GtcrnStream implements DenoiserStream {
  constructor(private readonly d: SherpaOnlineDenoiser) {}

  process(frame: Int16Array): Int16Array {
    // enableExternalBuffer false: the result must be a copy we own, not a view of native memory.
    const out = this.d.run({ samples: int16ToFloat32(frame), sampleRate: 16000, enableExternalBuffer: false });
    return float32ToInt16(out.samples);
  }

  flush(): Int16Array {
    return float32ToInt16(this.d.flush(false).samples);
  }

  reset(): void {
    this.d.reset();
  }
}
