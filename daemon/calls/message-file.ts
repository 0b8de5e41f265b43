// Writes a recorded voicemail (16 kHz mono PCM16 frames) as a WAV file, off the media thread.
import { writeFile } from "node:fs/promises";

export async function writeMonoWav(path: string, frames: Int16Array[], sampleRate = 16000): Promise<void> {
  const samples = frames.reduce((n, f) => n + f.length, 0);
  const buf = Buffer.alloc(44 + samples * 2);
  buf.write("RIFF", 0, "ascii");
  buf.writeUInt32LE(36 + samples * 2, 4);
  buf.write("WAVEfmt ", 8, "ascii");
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write("data", 36, "ascii");
  buf.writeUInt32LE(samples * 2, 40);
  let off = 44;
  for (const f of frames) {
    Buffer.from(f.buffer, f.byteOffset, f.byteLength).copy(buf, off);
    off += f.byteLength;
  }
  await writeFile(path, buf);
}
