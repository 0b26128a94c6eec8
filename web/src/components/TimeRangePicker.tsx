// The time range: relative presets, an absolute from/to typed or pasted
// (wall times in the browser's zone, ISO 8601 with offset, epoch seconds or
// milliseconds, now-…), auto-refresh; the browser's time zone is shown.
import { useRef, useState, type FormEvent } from 'react';
import { flushSync } from 'react-dom';
import { useTranslation } from 'react-i18next';
import { REFRESH_OPTIONS, useTimeRange, type RefreshOption } from '../app/timeRange';
import { formatInterval, formatRangeEnds, formatSpan } from '../lib/format';
import {
  browserZone,
  formatTimeInput,
  parseDuration,
  parseRangeInput,
  parseSpan,
  presetOf,
  relativeSpan,
  RELATIVE_PRESETS,
  timeZoneLabel,
  utcOffsetLabel,
  type RangeInputError,
} from '../lib/time';
import { Field } from './Field';
import { Icon } from './Icon';
import { usePopover } from './usePopover';
import './TimeRangePicker.css';

/** "Last 15 minutes" for a range that ends now, else both ends with the zone's offset. */
function useRangeLabel(): string {
  const { t } = useTranslation();
  const tr = useTimeRange();
  const span = relativeSpan(tr.from, tr.to);
  if (span) return t('time.last', { range: formatSpan(span.count, span.unit) });
  const [from, to] = formatRangeEnds(tr.startMs, tr.endMs);
  return `${t('time.between', { from, to })} (${utcOffsetLabel(new Date(tr.startMs), browserZone())})`;
}

export function TimeRangePicker() {
  const { t } = useTranslation();
  const tr = useTimeRange();
  const label = useRangeLabel();
  return (
    <div className="trp">
      <RangePopover label={label} />
      <button type="button" className="btn" onClick={tr.reload} aria-label={t('time.refreshNow')} title={t('time.refreshNow')}>
        <Icon name="refresh" />
      </button>
      <label className="sr-only" htmlFor="auto-refresh">
        {t('time.autoRefresh')}
      </label>
      <select
        id="auto-refresh"
        value={tr.refresh}
        onChange={(e) => tr.setRefresh(e.target.value as RefreshOption)}
        title={t('time.autoRefresh')}
      >
        {REFRESH_OPTIONS.map((o) => (
          <option key={o} value={o}>
            {o === 'off' ? t('time.refreshOff') : t('time.every', { interval: formatInterval(parseDuration(o)!) })}
          </option>
        ))}
      </select>
    </div>
  );
}

function RangePopover({ label }: { label: string }) {
  const { t } = useTranslation();
  const tr = useTimeRange();
  const [fromText, setFromText] = useState('');
  const [toText, setToText] = useState('');
  const [errors, setErrors] = useState<RangeInputError[]>([]);
  const fromRef = useRef<HTMLInputElement>(null);
  const toRef = useRef<HTMLInputElement>(null);
  const preset = presetOf(tr.from, tr.to);
  const pop = usePopover(() => {
    // The inputs start from the range shown when the picker opens.
    setFromText(formatTimeInput(tr.startMs));
    setToText(formatTimeInput(tr.endMs));
    setErrors([]);
  });

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const r = parseRangeInput(fromText, toText, Date.now());
    if ('errors' in r) {
      // Rendered before the focus moves, so the field is read with its error.
      flushSync(() => setErrors(r.errors));
      (r.errors.includes('to') && !r.errors.includes('from') ? toRef : fromRef).current?.focus();
      return;
    }
    tr.setRange(r.from, r.to);
    pop.close(true);
  };
  const order = errors.includes('order');
  const sides = [
    { side: 'from', name: t('time.from'), text: fromText, setText: setFromText, ref: fromRef },
    { side: 'to', name: t('time.to'), text: toText, setText: setToText, ref: toRef },
  ] as const;

  return (
    <div className="trp-anchor" {...pop.rootProps}>
      <button type="button" className="btn trp-button" aria-label={`${t('time.range')}: ${label}`} {...pop.triggerProps}>
        <Icon name="clock" />
        <span>{label}</span>
      </button>
      {pop.open && (
        <div className="trp-pop" aria-label={t('time.range')} {...pop.popupProps}>
          <div className="trp-presets">
            <div className="trp-heading">{t('time.relative')}</div>
            {RELATIVE_PRESETS.map((p, i) => {
              const span = parseSpan(p)!;
              return (
                <button
                  key={p}
                  type="button"
                  className={`trp-preset ${preset === p ? 'active' : ''}`}
                  aria-pressed={preset === p}
                  data-autofocus={preset === p || (!preset && i === 0) ? true : undefined}
                  onClick={() => {
                    tr.setRange(`now-${p}`, 'now');
                    pop.close(true);
                  }}
                >
                  {t('time.last', { range: formatSpan(span.count, span.unit) })}
                </button>
              );
            })}
          </div>
          <form className="trp-abs" onSubmit={apply} noValidate>
            <div className="trp-heading">{t('time.absolute')}</div>
            {sides.map(({ side, name, text, setText, ref }) => (
              <Field
                key={side}
                id={`trp-${side}`}
                label={name}
                error={errors.includes(side) ? t('time.unreadable') : undefined}
                invalid={order}
                // Both are described by the forms accepted and the zone they are read in.
                describedBy={order ? 'trp-order trp-hint' : 'trp-hint'}
              >
                {(control) => (
                  <input
                    {...control}
                    ref={ref}
                    className="mono"
                    spellCheck={false}
                    autoComplete="off"
                    value={text}
                    onChange={(e) => {
                      setText(e.target.value);
                      setErrors([]);
                    }}
                  />
                )}
              </Field>
            ))}
            {order && (
              <p id="trp-order" className="form-error">
                {t('time.invalid')}
              </p>
            )}
            <button type="submit" className="btn btn-primary">
              {t('time.apply')}
            </button>
            <p id="trp-hint" className="trp-zone">
              {t('time.inputHint')}
              <br />
              {t('time.zone')}: {timeZoneLabel()}
            </p>
          </form>
        </div>
      )}
    </div>
  );
}
