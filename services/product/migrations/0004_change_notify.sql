-- Every change to a product row (catalog writes and stock reservations, by
-- any replica) is announced with the product's id, after commit, so that
-- every replica's cache of product answers drops exactly what changed.
CREATE FUNCTION product_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('product_changed', COALESCE(NEW.id, OLD.id)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER product_changed AFTER INSERT OR UPDATE OR DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION product_changed();
