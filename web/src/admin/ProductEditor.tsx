import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link, useNavigate, useParams } from 'react-router';
import * as api from '../api/endpoints';
import { isApiError } from '../api/errors';
import type { Product } from '../api/types';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { Loading } from '../components/Loading';
import { applyProblem } from '../forms/problem';
import { parseMoney } from '../lib/money';
import { useTitle } from '../lib/useTitle';
import { PRODUCT_ALIASES, PRODUCT_FIELDS, toFormValues, toInput, type ProductFormValues } from './productForm';

function Form({ original }: { original?: Product }) {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [extra, setExtra] = useState<string[]>([]);
  const form = useForm<ProductFormValues>({ defaultValues: toFormValues(original) });
  const { errors, isSubmitting } = form.formState;

  const onSubmit = form.handleSubmit(async (v) => {
    setError(null);
    setExtra([]);
    const body = toInput(v, original);
    if (original && Object.keys(body).length === 0) {
      navigate('/admin/products', { state: { flash: 'Nothing changed.' } });
      return;
    }
    try {
      const saved = original ? await api.updateProduct(original.id, body) : await api.createProduct(body);
      qc.setQueryData(['product', saved.id], saved);
      qc.invalidateQueries({ queryKey: ['admin', 'products'] });
      qc.invalidateQueries({ queryKey: ['products'] });
      qc.invalidateQueries({ queryKey: ['categories'] });
      navigate('/admin/products', {
        state: { flash: `${saved.name} was ${original ? 'saved' : 'created'}.` },
      });
    } catch (e) {
      if (isApiError(e) && e.status === 409) {
        form.setError('sku', { type: 'server', message: 'Another product already has this SKU.' }, { shouldFocus: true });
        return;
      }
      setExtra(applyProblem(e, form.setError, PRODUCT_FIELDS, PRODUCT_ALIASES));
      setError(e);
    }
  });

  return (
    <form onSubmit={onSubmit} noValidate className="stack-form card product-form">
      <ErrorMessage error={error} extra={extra} />
      <Field label="Name" error={errors.name?.message} {...form.register('name', { required: 'Give the product a name.', maxLength: { value: 200, message: 'At most 200 characters.' } })} />
      <div className="field">
        <label htmlFor="pf-description">Description</label>
        <textarea
          id="pf-description"
          rows={4}
          aria-invalid={errors.description ? true : undefined}
          aria-describedby={errors.description ? 'pf-description-error' : undefined}
          {...form.register('description', { maxLength: { value: 5000, message: 'At most 5000 characters.' } })}
        />
        {errors.description && (
          <p className="field-error" id="pf-description-error">
            {errors.description.message}
          </p>
        )}
      </div>
      <div className="field-row">
        <Field
          label="Price"
          inputMode="decimal"
          hint="In the currency's units, e.g. 19.99"
          error={errors.price?.message}
          {...form.register('price', {
            required: 'Enter a price.',
            validate: (v, all) => parseMoney(v, all.currency || 'USD') != null || 'Enter an amount such as 19.99.',
          })}
        />
        <Field
          label="Currency"
          maxLength={3}
          autoCapitalize="characters"
          error={errors.currency?.message}
          {...form.register('currency', { pattern: { value: /^[A-Za-z]{3}$/, message: 'A three-letter code such as USD.' } })}
        />
        <Field
          label="Stock"
          type="number"
          min={0}
          error={errors.stock?.message}
          {...form.register('stock', {
            required: 'Enter the stock.',
            validate: (v) => (/^\d+$/.test(v.trim()) && Number(v) <= 2147483647) || 'A whole number, 0 or more.',
          })}
        />
      </div>
      <div className="field-row">
        <Field label="Category" error={errors.category?.message} {...form.register('category', { maxLength: { value: 100, message: 'At most 100 characters.' } })} />
        <Field label="SKU" error={errors.sku?.message} {...form.register('sku', { maxLength: { value: 64, message: 'At most 64 characters.' } })} />
      </div>
      <div className="form-actions">
        <Link to="/admin/products">Cancel</Link>
        <button type="submit" className="btn btn-primary" disabled={isSubmitting}>
          {original ? 'Save changes' : 'Create product'}
        </button>
      </div>
    </form>
  );
}

export function ProductEditor() {
  const { id } = useParams();
  useTitle(id ? 'Edit product · Back office' : 'New product · Back office');
  const product = useQuery({
    queryKey: ['product', id],
    queryFn: () => api.getProduct(id!),
    enabled: Boolean(id),
    staleTime: 0,
  });
  return (
    <section aria-labelledby="pe-title">
      <h1 id="pe-title">{id ? `Edit ${product.data?.name ?? 'product'}` : 'New product'}</h1>
      {id && product.isPending && <Loading />}
      {id && product.error && <ErrorMessage error={product.error} />}
      {(!id || product.data) && <Form key={product.data?.updated_at ?? 'new'} original={product.data} />}
    </section>
  );
}
