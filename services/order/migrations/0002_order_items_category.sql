-- The product's category, snapshotted at placement like its name and price,
-- so the order events carry what reports group by. NULL for lines of orders
-- placed before it was recorded, and for products without a category.

ALTER TABLE order_items ADD COLUMN category text;
