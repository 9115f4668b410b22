/**
 * Recordings in MP4/M4A and WebM for tests, written by independent muxers
 * from npm (`mp4-muxer`, `webm-muxer`) with dummy 20 ms Opus frames: what
 * LiveKit Egress writes besides Ogg, without ffmpeg.
 *
 * @module
 */
import { ArrayBufferTarget, Muxer } from "mp4-muxer";
import {
  ArrayBufferTarget as WebmTarget,
  Muxer as WebmMuxer,
  StreamTarget,
} from "webm-muxer";

const OPUS = { codec: "opus", numberOfChannels: 1, sampleRate: 48000 } as const;
const FRAME_US = 20_000;

/** An Opus-in-MP4 recording from an independent muxer (mp4-muxer). */
export function muxMp4(
  seconds: number,
  fastStart: false | "in-memory" | "fragmented",
  video = false,
): Uint8Array {
  const target = new ArrayBufferTarget();
  const muxer = new Muxer({
    target,
    audio: OPUS,
    video: video ? { codec: "avc", width: 16, height: 16 } : undefined,
    fastStart,
  });
  opusFrames(seconds, (data, i, at) =>
    muxer.addAudioChunkRaw(
      data,
      "key",
      at,
      FRAME_US,
      i === 0 ? { decoderConfig: OPUS } : undefined,
    ));
  if (video) {
    muxer.addVideoChunkRaw(new Uint8Array(20), "key", 0, seconds * 1e6, {
      decoderConfig: {
        codec: "avc1.42001f",
        codedWidth: 16,
        codedHeight: 16,
        description: new Uint8Array([1, 0x42, 0, 0x1f, 0xff, 0xe0, 0, 0xc0]),
      },
    });
  }
  muxer.finalize();
  return new Uint8Array(target.buffer);
}

/** An Opus-in-WebM recording from an independent muxer (webm-muxer). */
export function muxWebm(seconds: number, streaming = false): Uint8Array {
  const pieces: { data: Uint8Array; at: number }[] = [];
  const target = streaming
    ? new StreamTarget({
      onData: (data, at) => pieces.push({ data: data.slice(), at }),
    })
    : new WebmTarget();
  const muxer = new WebmMuxer({
    target,
    audio: { codec: "A_OPUS", numberOfChannels: 1, sampleRate: 48000 },
    streaming,
  });
  opusFrames(
    seconds,
    (data, _i, at) => muxer.addAudioChunkRaw(data, "key", at),
  );
  muxer.finalize();
  if (target instanceof WebmTarget) return new Uint8Array(target.buffer);
  const out = new Uint8Array(
    Math.max(...pieces.map((p) => p.at + p.data.length)),
  );
  for (const p of pieces) out.set(p.data, p.at);
  return out;
}

/**
 * Hand `add` the frames of `seconds` of a fake Opus stream: 40 bytes each
 * (frame `i` filled with `i`), at their start in microseconds.
 */
function opusFrames(
  seconds: number,
  add: (data: Uint8Array, i: number, atUs: number) => void,
): void {
  const frames = Math.round(seconds * 1e6 / FRAME_US);
  for (let i = 0; i < frames; i++) {
    add(new Uint8Array(40).fill(i & 0xff), i, i * FRAME_US);
  }
}
