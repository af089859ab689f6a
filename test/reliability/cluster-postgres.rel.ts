import { describeCluster } from './cluster-suite.ts';

describeCluster('postgres');
