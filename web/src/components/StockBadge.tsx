export const LOW_STOCK = 5;

export function stockText(stock: number): string {
  if (stock <= 0) return 'Out of stock';
  if (stock <= LOW_STOCK) return `Only ${stock} left`;
  return 'In stock';
}

export function StockBadge({ stock }: { stock: number }) {
  const cls = stock <= 0 ? 'stock stock-out' : stock <= LOW_STOCK ? 'stock stock-low' : 'stock stock-ok';
  return (
    <span className={cls} data-testid="stock">
      {stockText(stock)}
    </span>
  );
}
