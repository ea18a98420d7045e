import { readParams, toQuery, writeParams } from './catalog';

describe('catalog URL', () => {
  it('round-trips the query through the URL', () => {
    const p = readParams(new URLSearchParams('q=lamp&category=home&min=10&max=20.5&sort=price&page=2'));
    expect(p).toEqual({ q: 'lamp', category: 'home', min: '10', max: '20.5', sort: 'price', page: 2 });
    expect(writeParams(p).toString()).toBe('q=lamp&category=home&min=10&max=20.5&sort=price&page=2');
    expect(toQuery(p)).toMatchObject({ q: 'lamp', category: 'home', min_price: 1000, max_price: 2050, sort: 'price', page: 2 });
  });

  it('ignores what it does not understand and leaves defaults out of the URL', () => {
    const p = readParams(new URLSearchParams('sort=drop+table&page=-3'));
    expect(p.sort).toBe('-created_at');
    expect(p.page).toBe(1);
    expect(writeParams(p).toString()).toBe('');
  });
});
