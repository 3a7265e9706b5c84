'use client';
/** While a run is still training, re-render the server page every few seconds so its curves grow. */
import { useRouter } from 'next/navigation';
import { useEffect } from 'react';

export function LiveRefresh({ everyMs = 5000 }: { everyMs?: number }) {
  const router = useRouter();
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') router.refresh();
    }, everyMs);
    return () => clearInterval(t);
  }, [router, everyMs]);
  return (
    <span className="muted small" role="status">
      live: updating every {Math.round(everyMs / 1000)} s
    </span>
  );
}
