import { describeCluster } from './cluster-suite.ts';

describeCluster('mysql');
