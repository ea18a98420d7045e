import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import * as api from '../api/endpoints';
import type { ByCurrency } from '../api/types';
import { ErrorMessage } from '../components/ErrorMessage';
import { Loading } from '../components/Loading';
import { formatDate } from '../lib/format';
import { formatMoney, minorDigits } from '../lib/money';
import { useTitle } from '../lib/useTitle';
import { addDays, lastDays, mainCurrency } from './reportRange';

function money(m: ByCurrency | undefined): string {
  const entries = Object.entries(m ?? {});
  if (entries.length === 0) return formatMoney(0, 'USD');
  return entries.map(([c, v]) => formatMoney(v, c)).join(' · ');
}

async function downloadCsv(path: string, filename: string): Promise<void> {
  const text = await api.reportCsv(path);
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function CsvButton({ path, name }: { path: string; name: string }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <>
      <button
        type="button"
        className="btn btn-small"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await downloadCsv(path, name);
          } catch (e) {
            setError(e);
          } finally {
            setBusy(false);
          }
        }}
      >
        Download CSV<span className="visually-hidden">: {name}</span>
      </button>
      <ErrorMessage error={error} />
    </>
  );
}

export default function Reports() {
  useTitle('Reports · Back office');
  const initial = lastDays(30);
  const [from, setFrom] = useState(initial.from);
  const [toIncl, setToIncl] = useState(addDays(initial.to, -1));
  const [interval, setPeriod] = useState<'day' | 'week' | 'month'>('day');
  const [by, setBy] = useState<'units' | 'revenue'>('units');
  const range = { from, to: addDays(toIncl, 1) };
  const badRange = !from || !toIncl || toIncl < from;
  const enabled = !badRange;

  const summary = useQuery({ queryKey: ['reports', 'summary', range], queryFn: () => api.reportSummary(range), enabled });
  const sales = useQuery({ queryKey: ['reports', 'sales', range, interval], queryFn: () => api.reportSales(range, interval), enabled });
  const top = useQuery({ queryKey: ['reports', 'top', range, by], queryFn: () => api.reportTopProducts(range, by, 10), enabled });
  const cats = useQuery({ queryKey: ['reports', 'categories', range], queryFn: () => api.reportCategories(range), enabled });

  const currency = mainCurrency(summary.data?.revenue_by_currency);
  const scale = 10 ** minorDigits(currency);
  const salesData = (sales.data?.items ?? []).map((p) => ({
    period: formatDate(p.period_start),
    orders: p.orders,
    units: p.units,
    revenue: (p.revenue_by_currency[currency] ?? 0) / scale,
  }));
  const catData = (cats.data?.items ?? []).map((c) => ({
    category: c.category || '(none)',
    units: c.units,
    revenue: (c.revenue_by_currency[currency] ?? 0) / scale,
  }));
  const q = (p: Record<string, string>) => `?${new URLSearchParams({ ...range, ...p }).toString()}`;

  return (
    <section aria-labelledby="rp-title" className="reports">
      <h1 id="rp-title">Reports</h1>
      <form className="filters filters-inline" aria-label="Report period" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="rp-from">From</label>
          <input id="rp-from" type="date" value={from} max={toIncl} onChange={(e) => setFrom(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="rp-to">To (inclusive)</label>
          <input id="rp-to" type="date" value={toIncl} min={from} onChange={(e) => setToIncl(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="rp-interval">Interval</label>
          <select id="rp-interval" value={interval} onChange={(e) => setPeriod(e.target.value as typeof interval)}>
            <option value="day">Day</option>
            <option value="week">Week</option>
            <option value="month">Month</option>
          </select>
        </div>
        <div className="filters-actions">
          {[7, 30, 90].map((n) => (
            <button
              key={n}
              type="button"
              className="btn btn-small"
              onClick={() => {
                const r = lastDays(n);
                setFrom(r.from);
                setToIncl(addDays(r.to, -1));
              }}
            >
              Last {n} days
            </button>
          ))}
        </div>
      </form>
      {badRange && <p className="alert alert-warning">The end date must not be before the start date.</p>}

      <h2>Summary</h2>
      {summary.isPending && enabled && <Loading />}
      <ErrorMessage error={summary.error} />
      {summary.data && (
        <>
          <dl className="kpis">
            <div className="kpi">
              <dt>Revenue</dt>
              <dd data-testid="kpi-revenue">{money(summary.data.revenue_by_currency)}</dd>
            </div>
            <div className="kpi">
              <dt>Orders placed</dt>
              <dd>{summary.data.orders_placed}</dd>
            </div>
            <div className="kpi">
              <dt>Confirmed</dt>
              <dd>{summary.data.orders_confirmed}</dd>
            </div>
            <div className="kpi">
              <dt>Rejected</dt>
              <dd>{summary.data.orders_rejected}</dd>
            </div>
            <div className="kpi">
              <dt>Cancelled</dt>
              <dd>{summary.data.orders_cancelled}</dd>
            </div>
            <div className="kpi">
              <dt>Units sold</dt>
              <dd>{summary.data.units_sold}</dd>
            </div>
            <div className="kpi">
              <dt>Average order</dt>
              <dd>{money(summary.data.average_order_cents_by_currency)}</dd>
            </div>
            <div className="kpi">
              <dt>New customers</dt>
              <dd>{summary.data.new_users}</dd>
            </div>
          </dl>
          <CsvButton path={`/reports/summary${q({})}`} name="summary.csv" />
        </>
      )}

      <h2>Sales over time</h2>
      <ErrorMessage error={sales.error} />
      {sales.data && (
        <>
          <figure className="chart" aria-label={`Revenue in ${currency} and orders per ${interval}`}>
            <ResponsiveContainer width="100%" height={280}>
              <LineChart data={salesData} margin={{ top: 8, right: 16, bottom: 8, left: 8 }} accessibilityLayer>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="period" />
                <YAxis yAxisId="rev" />
                <YAxis yAxisId="orders" orientation="right" allowDecimals={false} />
                <Tooltip />
                <Legend />
                <Line yAxisId="rev" type="monotone" dataKey="revenue" name={`Revenue (${currency})`} stroke="#1f4e79" strokeWidth={2} dot={false} />
                <Line yAxisId="orders" type="monotone" dataKey="orders" name="Orders" stroke="#b35900" strokeWidth={2} dot={false} />
              </LineChart>
            </ResponsiveContainer>
            <figcaption className="muted">
              Revenue of confirmed orders that were not cancelled, in {currency}, and orders placed, per {interval}.
            </figcaption>
          </figure>
          <CsvButton path={`/reports/sales${q({ interval })}`} name="sales.csv" />
        </>
      )}

      <div className="two-columns">
        <div>
          <div className="section-head">
            <h2>Top products</h2>
            <label className="inline-label">
              By{' '}
              <select value={by} onChange={(e) => setBy(e.target.value as typeof by)}>
                <option value="units">units</option>
                <option value="revenue">revenue</option>
              </select>
            </label>
          </div>
          <ErrorMessage error={top.error} />
          {top.data && (
            <>
              <table className="table table-compact">
                <caption className="visually-hidden">Top products by {by}</caption>
                <thead>
                  <tr>
                    <th scope="col">Product</th>
                    <th scope="col" className="num">
                      Units
                    </th>
                    <th scope="col" className="num">
                      Revenue
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {top.data.items.map((t) => (
                    <tr key={t.product_id}>
                      <th scope="row">{t.name}</th>
                      <td className="num">{t.units}</td>
                      <td className="num">{formatMoney(t.revenue_cents, t.currency)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <CsvButton path={`/reports/top-products${q({ by, limit: '10' })}`} name="top-products.csv" />
            </>
          )}
        </div>
        <div>
          <h2>Categories</h2>
          <ErrorMessage error={cats.error} />
          {cats.data && (
            <>
              <figure className="chart" aria-label="Units sold per category">
                <ResponsiveContainer width="100%" height={220}>
                  <BarChart data={catData} margin={{ top: 8, right: 8, bottom: 8, left: 8 }} accessibilityLayer>
                    <CartesianGrid strokeDasharray="3 3" />
                    <XAxis dataKey="category" />
                    <YAxis allowDecimals={false} />
                    <Tooltip />
                    <Bar dataKey="units" name="Units" fill="#1f4e79" />
                  </BarChart>
                </ResponsiveContainer>
              </figure>
              <table className="table table-compact">
                <caption className="visually-hidden">Sales per category</caption>
                <thead>
                  <tr>
                    <th scope="col">Category</th>
                    <th scope="col" className="num">
                      Units
                    </th>
                    <th scope="col" className="num">
                      Revenue
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {cats.data.items.map((c) => (
                    <tr key={c.category}>
                      <th scope="row">{c.category || '(none)'}</th>
                      <td className="num">{c.units}</td>
                      <td className="num">{money(c.revenue_by_currency)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <CsvButton path={`/reports/categories${q({})}`} name="categories.csv" />
            </>
          )}
        </div>
      </div>
    </section>
  );
}
