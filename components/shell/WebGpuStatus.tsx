'use client';
/**
 * Reports plainly whether this browser has WebGPU: the adapter's name and the limits
 * the compiler cares about. The description comes from the engine (engine/gpu/describe).
 */
import { useEffect, useState } from 'react';
import { adapterDescription, adapterSummary, type AdapterDescription } from '@/engine/gpu/describe';

type Status =
  | { state: 'checking' }
  | { state: 'unsupported'; reason: string }
  | { state: 'ready'; adapter: AdapterDescription };

const KEY_LIMITS: [string, string][] = [
  ['maxComputeWorkgroupStorageSize', 'workgroup memory'],
  ['maxComputeInvocationsPerWorkgroup', 'invocations / workgroup'],
  ['maxStorageBufferBindingSize', 'storage binding'],
  ['maxBufferSize', 'buffer'],
  ['maxStorageBuffersPerShaderStage', 'storage buffers / stage'],
];

function formatLimit(key: string, v: number): string {
  if (/Size$/.test(key)) return v >= 1 << 20 ? `${(v / (1 << 20)).toFixed(0)} MiB` : `${(v / 1024).toFixed(0)} KiB`;
  return String(v);
}

export async function probeWebGpu(): Promise<Status> {
  if (typeof navigator === 'undefined' || !('gpu' in navigator)) {
    return {
      state: 'unsupported',
      reason: window.isSecureContext
        ? 'This browser does not expose WebGPU (navigator.gpu is missing). Use a recent Chrome, Edge or Firefox Nightly.'
        : 'WebGPU needs a secure context: open the app on https:// or http://localhost.',
    };
  }
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { state: 'unsupported', reason: 'navigator.gpu.requestAdapter() returned no adapter (GPU blocklisted or disabled).' };
  return { state: 'ready', adapter: adapterDescription(adapter) };
}

export function WebGpuStatus({ onReady }: { onReady?: (d: AdapterDescription | null) => void }) {
  const [status, setStatus] = useState<Status>({ state: 'checking' });
  useEffect(() => {
    let live = true;
    probeWebGpu()
      .catch((e: unknown) => ({ state: 'unsupported', reason: `WebGPU probe failed: ${String(e)}` }) as Status)
      .then((s) => {
        if (!live) return;
        setStatus(s);
        onReady?.(s.state === 'ready' ? s.adapter : null);
      });
    return () => {
      live = false;
    };
  }, [onReady]);

  if (status.state === 'checking') {
    return (
      <div className="gpu-status" data-testid="webgpu-status" data-state="checking">
        Checking WebGPU…
      </div>
    );
  }
  if (status.state === 'unsupported') {
    return (
      <div className="gpu-status gpu-status--none" data-testid="webgpu-status" data-state="unsupported" role="status">
        <strong>No WebGPU.</strong> {status.reason} Training falls back to the float64 reference backend, for tiny models only.
      </div>
    );
  }
  const a = status.adapter;
  return (
    <div className="gpu-status gpu-status--ok" data-testid="webgpu-status" data-state="ready" role="status">
      <div>
        <strong>WebGPU</strong>: <span data-testid="webgpu-adapter">{adapterSummary(a)}</span>
      </div>
      <dl className="gpu-limits">
        {KEY_LIMITS.map(([key, label]) =>
          a.limits[key] !== undefined ? (
            <div key={key}>
              <dt>{label}</dt>
              <dd>{formatLimit(key, a.limits[key])}</dd>
            </div>
          ) : null,
        )}
        <div>
          <dt>features</dt>
          <dd>{a.features.filter((f) => ['subgroups', 'shader-f16', 'timestamp-query'].includes(f)).join(', ') || 'none'}</dd>
        </div>
      </dl>
    </div>
  );
}
