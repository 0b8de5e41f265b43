// Energy-based end-of-message detection for voicemail. Deliberately simple: it only has to notice that a caller
// stopped talking for seconds, not find word boundaries (the speech pipeline's VAD does that).
import { frameDbfs } from "../media/pcm.ts";

export class SilenceDetector {
  private silentMs = 0;
  private heardSpeech = false;

  constructor(
    private readonly silenceMs: number,
    private readonly thresholdDbfs = -45,
    private readonly frameMs = 20,
  ) {}

  /** Feed one frame; true once `silenceMs` of continuous silence followed some speech (or from the start). */
  push(frame: Int16Array): boolean {
    if (frameDbfs(frame) > this.thresholdDbfs) {
      this.heardSpeech = true;
      this.silentMs = 0;
      return false;
    }
    this.silentMs += this.frameMs;
    // Before any speech allow twice the time: callers often hesitate after the beep.
    return this.silentMs >= (this.heardSpeech ? this.silenceMs : 2 * this.silenceMs);
  }
}
