'use client';
/** Creates (or finds) the run's share link and shows it, ready to copy. */
import { useState } from 'react';

export function ShareButton({ runId }: { runId: string }) {
  const [link, setLink] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const share = async () => {
    setBusy(true);
    setError(null);
    try {
      const res = await fetch('/api/shares', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runId }) });
      const body = (await res.json()) as { path?: string; error?: string };
      if (!res.ok || !body.path) throw new Error(body.error ?? `HTTP ${res.status}`);
      const url = new URL(body.path, window.location.origin).toString();
      setLink(url);
      await navigator.clipboard?.writeText(url).catch(() => {});
    } catch (e) {
      setError(`Could not create a share link: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="share-button">
      <button type="button" className="primary" onClick={share} disabled={busy} data-testid="share-run">
        {busy ? 'Sharing…' : 'Share link'}
      </button>
      {link && (
        <input type="text" readOnly value={link} aria-label="Share link" data-testid="share-link" onFocus={(e) => e.currentTarget.select()} size={link.length} />
      )}
      {error && <span className="err-text" role="alert">{error}</span>}
    </span>
  );
}
