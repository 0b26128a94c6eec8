import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { Empty } from '../../components/states';

export default function NotFoundPage() {
  const { t } = useTranslation();
  return (
    <div className="page">
      <h1>{t('notFound.title')}</h1>
      <Empty title={t('notFound.title')} hint={t('notFound.hint')}>
        <p>
          <Link to="/services">{t('nav.services')}</Link>
        </p>
      </Empty>
    </div>
  );
}
