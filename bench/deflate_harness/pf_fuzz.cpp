// pf_fuzz raw.deflate iterations seed: corrupt the correction bytes and re-encode; report outcomes.
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "preflate.h"
static std::vector<unsigned char> rd(const char* p){FILE*f=fopen(p,"rb");std::vector<unsigned char> v;unsigned char b[65536];size_t n;while((n=fread(b,1,sizeof b,f))>0)v.insert(v.end(),b,b+n);fclose(f);return v;}
int main(int argc,char**argv){
  auto raw=rd(argv[1]); int it=atoi(argv[2]); srand(atoi(argv[3]));
  std::vector<unsigned char> un,diff; if(!preflate_decode(un,diff,raw)) return 2;
  int refused=0,wrong=0,same=0;
  for(int i=0;i<it;i++){
    auto d=diff; int k=1+rand()%4;
    for(int j=0;j<k;j++){ if(rand()%8==0 && d.size()>1) d.resize(rand()%d.size()); else d[rand()%d.size()]^=(unsigned char)(1+rand()%255);}
    std::vector<unsigned char> re; bool ok=preflate_reencode(re,d,un);
    if(!ok) refused++; else if(re==raw) same++; else wrong++;
  }
  printf("refused %d wrong-output %d same %d\n",refused,wrong,same); return 0;}
