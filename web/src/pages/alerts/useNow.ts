import { useEffect, useState } from 'react';

/** The time (epoch ms), renewed every `everyMs`: relative times ("ends in 5 min") and states follow the clock. */
export function useNow(everyMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}
