import Link from 'next/link';

export function TopNav({ here }: { here: string }) {
  return (
    <nav className="topnav">
      <Link className="brand" href="/">
        Miras Studio
      </Link>
      <Link href="/runs">Runs</Link>
      <span className="muted">{here}</span>
    </nav>
  );
}
